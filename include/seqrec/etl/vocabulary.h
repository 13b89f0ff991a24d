#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "seqrec/schema/schema.h"

namespace seqrec::etl {

/// Categorify ids as NVTabular (23.06+) assigns them, so ids match Merlin (DESIGN.md §2).
constexpr int64_t kPaddingId = 0;
constexpr int64_t kNullId = 1;
constexpr int64_t kOovId = 2;
constexpr int64_t kFirstValueId = schema::kDefaultFirstValueId;  // one OOV bucket

/// 64-bit FNV-1a: a hash that is the same on every platform and run, for hashed ids.
uint64_t stable_hash(const std::string& value);

/// splitmix64's finaliser: spreads integers (consecutive ids, FNV hashes of similar strings) over all 64 bits.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Counts values during fit, then maps values to ids: first_value_id().. by descending frequency (ties by
/// value). With `oov_buckets` > 1, unknown values are hashed into ids 2 .. 2+oov_buckets-1 and real values
/// start at 2+oov_buckets (NVTabular's num_buckets); with the default 1 they start at 3.
class Vocabulary {
 public:
  /// Counts `n` occurrences; empty values are nulls and are not counted.
  void count(const std::string& value, int64_t n = 1);
  /// Adds another vocabulary's counts (statistics of another chunk); both must not be finalized yet.
  void merge(const Vocabulary& other);
  /// Freezes the counts into ids, keeping values seen at least `min_frequency` times, and of those the
  /// `max_size` most frequent (0 = no limit).
  void finalize(int64_t min_frequency = 1, int64_t max_size = 0);
  /// Number of OOV ids (>= 1); set before or after finalize, it shifts the ids of real values.
  void set_oov_buckets(int64_t buckets);
  int64_t oov_buckets() const { return oov_buckets_; }
  int64_t first_value_id() const { return kOovId + oov_buckets_; }

  /// The id of `value`: kNullId for "", an OOV id when unknown.
  int64_t encode(const std::string& value) const;
  /// The raw value of a real id; "<pad>", "<null>" or "<oov>" for the reserved ids.
  const std::string& decode(int64_t id) const;
  /// Number of ids including the reserved ones.
  int64_t cardinality() const { return first_value_id() + static_cast<int64_t>(values_.size()); }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  int64_t frequency(int64_t id) const;
  /// Values counted so far and not yet finalized.
  int64_t counted() const { return static_cast<int64_t>(counts_.size()); }

  /// One line per value, "value<TAB>count", row i is id 3+i; tabs, newlines and backslashes escaped.
  void save(const std::filesystem::path& path) const;
  static Vocabulary load(const std::filesystem::path& path);

 private:
  std::unordered_map<std::string, int64_t> counts_;
  std::vector<std::string> values_;
  std::vector<int64_t> frequencies_;
  std::unordered_map<std::string, int64_t> ids_;
  int64_t oov_buckets_ = 1;
};

}  // namespace seqrec::etl
