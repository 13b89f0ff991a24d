#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "seqrec/common/parquet_files.h"
#include "seqrec/etl/event_reader.h"
#include "seqrec/etl/frame.h"

namespace seqrec::etl {

/// Reads the columns of `spec` from a Parquet file or folder, one row group at a time, into typed frames (strings,
/// integers, floats and timestamps converted as the spec's column types say; a partition key is a column too).
/// Nulls become nulls; a value that is not of the column's type is a bad row, named by file, row group, row and
/// column, handled as spec.on_bad_row says. `options.threads` bounds Arrow's decoding threads.
void read_parquet_frames(const std::string& path, const InputSpec& spec, const ReaderOptions& options, ReadStats& stats,
                         const std::function<void(Frame&&)>& consume);

}  // namespace seqrec::etl
