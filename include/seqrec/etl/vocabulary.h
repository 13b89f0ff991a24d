#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

namespace seqrec::etl {

/// Categorify ids as NVTabular (23.06+) assigns them, so ids match Merlin (DESIGN.md §2).
constexpr int64_t kPaddingId = 0;
constexpr int64_t kNullId = 1;
constexpr int64_t kOovId = 2;
constexpr int64_t kFirstValueId = 3;

/// Counts values during fit, then maps values to ids: 3.. by descending frequency (ties by value).
class Vocabulary {
 public:
  /// Counts one occurrence; empty values are nulls and are not counted.
  void count(const std::string& value);
  /// Freezes the counts into ids, keeping values seen at least `min_frequency` times.
  void finalize(int64_t min_frequency = 1);

  /// The id of `value`: kNullId for "", kOovId when unknown.
  int64_t encode(const std::string& value) const;
  /// The raw value of an id >= 3; "<pad>", "<null>" or "<oov>" for the reserved ids.
  const std::string& decode(int64_t id) const;
  /// Number of ids including the 3 reserved ones.
  int64_t cardinality() const { return kFirstValueId + static_cast<int64_t>(values_.size()); }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  int64_t frequency(int64_t id) const;

  /// One line per value, "value<TAB>count", row i is id 3+i; tabs, newlines and backslashes escaped.
  void save(const std::filesystem::path& path) const;
  static Vocabulary load(const std::filesystem::path& path);

 private:
  std::unordered_map<std::string, int64_t> counts_;
  std::vector<std::string> values_;
  std::vector<int64_t> frequencies_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace seqrec::etl
