#include "seqrec/common/options_reader.h"

#include <algorithm>
#include <cctype>

namespace seqrec {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (same ? 0 : 1)});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// Flags and keys are twins: --learning-rate and learning_rate are the same word.
std::string as_key(std::string text) {
  while (!text.empty() && text.front() == '-') text.erase(text.begin());
  std::replace(text.begin(), text.end(), '-', '_');
  return text;
}

}  // namespace

std::string nearest_key(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, as_key(key).size() / 2) + 1;  // a typo or a near spelling, not another word
  for (const auto& candidate : known) {
    const size_t d = edit_distance(as_key(key), as_key(candidate));
    if (d < best_distance) best_distance = d, best = candidate;
  }
  return best;
}

std::string unknown_key_message(const std::string& origin, const std::string& path, const std::string& key,
                                const std::vector<std::string>& known) {
  std::string message = (origin.empty() ? "" : origin + ": ") + "unknown key '" + path + "'";
  const std::string nearest = nearest_key(key, known);
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  message += " (";
  if (!nearest.empty()) message += "did you mean '" + nearest + "'? ";
  return message + "known: " + list + ")";
}

OptionsReader::OptionsReader(const nlohmann::json& object, std::string path, std::string origin, std::vector<std::string>& problems)
    : object_(object), path_(std::move(path)), origin_(std::move(origin)), problems_(problems) {
  if (!object_.is_object()) problem(where("") + " must be an object, got " + std::string(object_.type_name()));
}

bool OptionsReader::take(const char* key) {
  known_.insert(key);
  return object_.is_object() && object_.contains(key) && !object_.at(key).is_null();
}

std::string OptionsReader::where(const std::string& key) const {
  if (path_.empty()) return key.empty() ? "the config" : key;
  return key.empty() ? path_ : path_ + "." + key;
}

void OptionsReader::problem(const std::string& text) { problems_.push_back((origin_.empty() ? "" : origin_ + ": ") + text); }

void OptionsReader::finish() {
  if (!object_.is_object()) return;
  const std::vector<std::string> known(known_.begin(), known_.end());
  for (auto it = object_.begin(); it != object_.end(); ++it)
    if (!known_.count(it.key())) problems_.push_back(unknown_key_message(origin_, where(it.key()), it.key(), known));
}

}  // namespace seqrec
