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

uint64_t stable_hash(const std::string& value) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : value) {
    h ^= ch;
    h *= 1099511628211ull;
  }
  return h;
}

void Vocabulary::count(const std::string& value, int64_t n) {
  if (!value.empty()) counts_[value] += n;
}

void Vocabulary::merge(const Vocabulary& other) {
  for (const auto& [value, n] : other.counts_) counts_[value] += n;
}

void Vocabulary::set_oov_buckets(int64_t buckets) {
  SEQREC_CHECK(buckets >= 1, "num_buckets must be >= 1, got ", buckets);
  oov_buckets_ = buckets;
  for (size_t i = 0; i < values_.size(); ++i) ids_[values_[i]] = first_value_id() + static_cast<int64_t>(i);
}

void Vocabulary::finalize(int64_t min_frequency, int64_t max_size) {
  std::vector<std::pair<std::string, int64_t>> kept;
  for (auto& [value, n] : counts_)
    if (n >= min_frequency) kept.emplace_back(value, n);
  std::sort(kept.begin(), kept.end(),
            [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  if (max_size > 0 && static_cast<int64_t>(kept.size()) > max_size) kept.resize(max_size);
  values_.clear();
  frequencies_.clear();
  ids_.clear();
  for (auto& [value, n] : kept) {
    ids_.emplace(value, first_value_id() + static_cast<int64_t>(values_.size()));
    values_.push_back(value);
    frequencies_.push_back(n);
  }
  counts_.clear();
}

int64_t Vocabulary::encode(const std::string& value) const {
  if (value.empty()) return kNullId;
  auto it = ids_.find(value);
  if (it != ids_.end()) return it->second;
  return oov_buckets_ == 1 ? kOovId : kOovId + static_cast<int64_t>(stable_hash(value) % static_cast<uint64_t>(oov_buckets_));
}

const std::string& Vocabulary::decode(int64_t id) const {
  SEQREC_ASSERT(id >= 0 && id < cardinality(), "id ", id, " outside vocabulary of ", cardinality());
  if (id < first_value_id()) return kReserved[std::min<int64_t>(id, kOovId)];
  return values_[id - first_value_id()];
}

int64_t Vocabulary::frequency(int64_t id) const {
  return id < first_value_id() || id >= cardinality() ? 0 : frequencies_[id - first_value_id()];
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
    v.ids_.emplace(value, v.first_value_id() + static_cast<int64_t>(v.values_.size()));
    v.values_.push_back(std::move(value));
    v.frequencies_.push_back(n);
  }
  return v;
}

}  // namespace seqrec::etl
