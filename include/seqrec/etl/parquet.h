#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "seqrec/etl/event_reader.h"
#include "seqrec/etl/frame.h"

namespace seqrec::etl {

/// One Parquet file of an input, with the hive partition values of the folders above it (`day=3/part.0.parquet`
/// gives {"day", "3"}).
struct ParquetPart {
  std::filesystem::path file;
  std::vector<std::pair<std::string, std::string>> partitions;
};

/// Whether `path` is Parquet input: a `.parquet` file, or a folder holding `.parquet` files (Spark's, Dask's and
/// NVTabular's part files; hive-partitioned sub-folders).
bool is_parquet_input(const std::string& path);

/// The Parquet files under `path` in a stable order (sorted paths), each with its partition values; a file is
/// itself. Files whose names start with '_' or '.' (_SUCCESS, _metadata, .crc) are not data.
std::vector<ParquetPart> list_parquet_parts(const std::filesystem::path& path);

/// Reads the columns of `spec` from a Parquet file or folder, one row group at a time, into typed frames (strings,
/// integers, floats and timestamps converted as the spec's column types say; a partition key is a column too).
/// Nulls become nulls; a value that is not of the column's type is a bad row, named by file, row group, row and
/// column, handled as spec.on_bad_row says. `options.threads` bounds Arrow's decoding threads.
void read_parquet_frames(const std::string& path, const InputSpec& spec, const ReaderOptions& options, ReadStats& stats,
                         const std::function<void(Frame&&)>& consume);

}  // namespace seqrec::etl
