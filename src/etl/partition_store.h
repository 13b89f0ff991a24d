#pragma once
// Spills raw event chunks to disk, hash-partitioned by the session key, so every partition holds whole
// sessions and the batch ETL runs in memory bounded by one partition rather than by the input.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "seqrec/etl/frame.h"

namespace seqrec::etl::detail {

class PartitionStore {
 public:
  /// Files go under `dir` (created; removed by the destructor).
  PartitionStore(std::filesystem::path dir, int partitions, std::string key_column);
  ~PartitionStore();
  PartitionStore(const PartitionStore&) = delete;
  PartitionStore& operator=(const PartitionStore&) = delete;

  /// Appends the rows of `chunk` to the partitions their keys hash to, keeping file order.
  void add(const Frame& chunk);
  /// Flushes the files; call once after the last add.
  void close();
  /// All rows of partition p, in the order they were added; only the columns in `only` when given.
  Frame load(int p, const std::set<std::string>* only = nullptr) const;
  int size() const { return static_cast<int>(files_.size()); }
  int64_t rows() const { return rows_; }

 private:
  std::filesystem::path dir_;
  std::string key_;
  std::vector<std::ofstream> files_;
  int64_t rows_ = 0;
};

/// Writes / reads the rows `rows` of a frame as one binary block (little-endian, as the machine lays it out).
void write_block(std::ostream& out, const Frame& frame, const std::vector<int64_t>& rows);
/// Reads one block from the front of `in` (advancing it) and appends its rows to `frame`; false at the end.
bool read_block(std::string_view& in, Frame& frame, const std::set<std::string>* only = nullptr);

}  // namespace seqrec::etl::detail
