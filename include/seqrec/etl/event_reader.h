#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "seqrec/common/options_reader.h"
#include "seqrec/etl/frame.h"
#include "seqrec/etl/timestamp.h"

namespace seqrec::etl {

/// The layout of raw event files; kAuto decides from the path (.parquet or a folder of them, .tsv, .jsonl/.ndjson,
/// else csv). Parquet is read by etl/parquet.h.
enum class InputFormat { kAuto, kCsv, kTsv, kJsonl, kParquet };
const Choices<InputFormat>& input_formats();  ///< auto, csv, tsv, jsonl, parquet

/// What a bad row does: stop the run with its file:line:field (kError), be counted (kSkip), or be counted and kept
/// with its reason in a rejects file (kQuarantine).
enum class BadRowPolicy { kError, kSkip, kQuarantine };
const Choices<BadRowPolicy>& bad_row_policies();  ///< error, skip, quarantine

/// One raw column a workflow reads, with its type. Other columns of the file are ignored.
struct InputColumn {
  std::string name;
  DType dtype = DType::kString;
  TimestampFormat format = TimestampFormat::kAuto;  ///< timestamps only
  bool required = false;                            ///< an empty value is a bad row rather than a null
  /// Other names the column may have in a request (file header, JSON field, tensor), tried in order when `name`
  /// is absent; the column keeps `name`. Not saved: Workflow::request_input() adds them.
  std::vector<std::string> aliases;
};

/// How raw event files are read: format, delimiter, typed columns and what to do with bad rows.
struct InputSpec {
  InputFormat format = InputFormat::kAuto;  ///< .gz allowed with any
  char delimiter = 0;                ///< csv: 0 = detect from the header (the most frequent of , ; tab |)
  std::vector<InputColumn> columns;  ///< read in this order
  BadRowPolicy on_bad_row = BadRowPolicy::kError;

  const InputColumn* find(const std::string& name) const;
  nlohmann::json to_json() const;
  /// Parses the workflow file's "input" object; messages name `where`.
  static InputSpec from_json(const nlohmann::json& j, const std::string& where);
};

/// Counters of the reads so far, printed and kept in the manifests. Nothing is dropped uncounted.
struct ReadStats {
  int64_t rows_read = 0;
  int64_t rows_skipped = 0;  ///< bad rows skipped or quarantined
  std::vector<std::string> first_skip_reasons;
  int64_t rows_quarantined = 0;
  std::string quarantine_file;  ///< where quarantined rows went, if any
};

/// Streaming options: chunk size bounds memory; parsing of a chunk is split across threads.
struct ReaderOptions {
  int threads = 0;                    ///< 0 = all cores
  int64_t chunk_bytes = 8 << 20;      ///< text per chunk
  std::filesystem::path quarantine;   ///< rejects file for on_bad_row=quarantine (TSV: file, line, reason, row)
};

/// Reads `path` (CSV/TSV/JSON Lines, gzip-compressed or not; Parquet files and folders go to read_parquet_frames) in chunks, calling `consume` with typed frames
/// of at most about chunk_bytes of text each, in file order. Strict by default: the first bad row throws
/// InvalidInput with file:line:column, the column's name and the row's text.
void read_frames(const std::string& path, const InputSpec& spec, const ReaderOptions& options, ReadStats& stats,
                 const std::function<void(Frame&&)>& consume);

/// An empty frame with the spec's columns and types.
Frame empty_input_frame(const InputSpec& spec);

/// Parses one text value into `column` (appends it; "" is a null). Returns false with `problem` set when the
/// text is not of the column's type. Files and live requests go through this same function.
bool append_text_value(std::string_view text, const InputColumn& spec, Column& column, std::string* problem);

}  // namespace seqrec::etl
