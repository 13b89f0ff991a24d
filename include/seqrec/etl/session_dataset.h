#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace seqrec::etl {

/// Sessions in columnar form, one row per session, lists as values + offsets (Arrow's layout).
struct SessionTable {
  std::vector<std::string> session_ids;  ///< raw session id of each row
  std::vector<int64_t> offsets{0};       ///< rows + 1 entries into items / timestamps
  std::vector<int64_t> items;            ///< categorified item ids (DESIGN.md §2)
  std::vector<int64_t> timestamps;       ///< milliseconds since the epoch, one per item
  std::vector<int64_t> days;             ///< per row: day index (days since 1970-01-01) of the first event, the day the session belongs to

  int64_t size() const { return static_cast<int64_t>(session_ids.size()); }
  int64_t length(int64_t row) const { return offsets[row + 1] - offsets[row]; }
  const int64_t* items_of(int64_t row) const { return items.data() + offsets[row]; }
  /// Appends one session.
  void append(const std::string& session_id, const std::vector<int64_t>& session_items,
              const std::vector<int64_t>& session_timestamps);
};

/// Writes a table as a sessions folder: manifest.json plus one little-endian binary file per column.
/// The folder is built as `<dir>.tmp` and renamed, so a failure never leaves a folder that looks complete.
void write_sessions(const SessionTable& table, const std::filesystem::path& dir);
/// Reads a sessions folder written by write_sessions; throws InvalidInput naming what is wrong.
SessionTable read_sessions(const std::filesystem::path& dir);

}  // namespace seqrec::etl
