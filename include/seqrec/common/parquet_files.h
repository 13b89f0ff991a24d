#pragma once
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace seqrec {

/// One Parquet file of an input, with the hive partition values of the folders above it (`day=3/part.0.parquet`
/// gives {"day", "3"}).
struct ParquetPart {
  std::filesystem::path file;
  std::vector<std::pair<std::string, std::string>> partitions;
};

/// Whether `path` is Parquet: a `.parquet` file, or a folder holding `.parquet` files (Spark's, Dask's and
/// NVTabular's part files; hive-partitioned sub-folders).
bool is_parquet_input(const std::string& path);

/// The Parquet files under `path` in a stable order (sorted paths), each with its partition values; a file is
/// itself. Files whose names start with '_' or '.' (_SUCCESS, _metadata, .crc) are not data.
std::vector<ParquetPart> list_parquet_parts(const std::filesystem::path& path);

}  // namespace seqrec
