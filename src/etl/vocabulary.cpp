#include "seqrec/etl/vocabulary.h"

#include <algorithm>
#include <sstream>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"

namespace seqrec::etl {

namespace {
const std::string kReserved[] = {"<pad>", "<null>", "<oov>"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char n = s[++i];
      out += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
    } else {
      out += s[i];
    }
  }
  return out;
}
}  // namespace

void Vocabulary::count(const std::string& value) {
  if (!value.empty()) ++counts_[value];
}

void Vocabulary::finalize(int64_t min_frequency) {
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [value, n] : counts_)
    if (n >= min_frequency) kept.emplace_back(value, n);
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  values_.clear();
  frequencies_.clear();
  ids_.clear();
  for (auto& [value, n] : kept) {
    ids_.emplace(value, kFirstValueId + static_cast<int64_t>(values_.size()));
    values_.push_back(value);
    frequencies_.push_back(n);
  }
  counts_.clear();
}

int64_t Vocabulary::encode(const std::string& value) const {
  if (value.empty()) return kNullId;
  auto it = ids_.find(value);
  return it == ids_.end() ? kOovId : it->second;
}

const std::string& Vocabulary::decode(int64_t id) const {
  SEQREC_ASSERT(id >= 0 && id < cardinality(), "id ", id, " outside vocabulary of ", cardinality());
  if (id < kFirstValueId) return kReserved[id];
  return values_[id - kFirstValueId];
}

int64_t Vocabulary::frequency(int64_t id) const {
  return id < kFirstValueId || id >= cardinality() ? 0 : frequencies_[id - kFirstValueId];
}

void Vocabulary::save(const std::filesystem::path& path) const {
  std::string out;
  for (size_t i = 0; i < values_.size(); ++i) out += escape(values_[i]) + "\t" + std::to_string(frequencies_[i]) + "\n";
  write_text_file_atomic(path, out);
}

Vocabulary Vocabulary::load(const std::filesystem::path& path) {
  std::istringstream in(read_text_file(path));
  Vocabulary v;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    size_t tab = line.rfind('\t');
    SEQREC_CHECK(tab != std::string::npos, path.string(), ":", line_number, ": expected 'value<TAB>count', got '", line, "'");
    std::string value = unescape(line.substr(0, tab));
    int64_t n = 0;
    try {
      n = std::stoll(line.substr(tab + 1));
    } catch (const std::exception&) {
      throw InvalidInput(path.string() + ":" + std::to_string(line_number) + ": count is not an integer: '" + line + "'");
    }
    v.ids_.emplace(value, kFirstValueId + static_cast<int64_t>(v.values_.size()));
    v.values_.push_back(std::move(value));
    v.frequencies_.push_back(n);
  }
  return v;
}

}  // namespace seqrec::etl
