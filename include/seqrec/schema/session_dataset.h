#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace seqrec::schema {

/// Sessions in columnar form, one row per session, lists as values + offsets (Arrow's layout).
struct SessionTable {
  /// An extra named column the workflow produced beside the item ids: categorical ids (int64, from their own
  /// vocabulary, `cardinality` > 0), other integers, or continuous values (float32); one list per session
  /// (`is_list`, with its own offsets, rows + 1 entries) or one scalar per session.
  struct Column {
    std::string name;
    std::string dtype;                ///< "int64" or "float32"
    bool is_list = false;
    std::vector<int64_t> ints;        ///< int64 values
    std::vector<float> floats;        ///< float32 values
    std::vector<int64_t> offsets;     ///< lists only: rows + 1 entries into the values
    std::vector<std::string> tags;    ///< schema tags (categorical, continuous, list, time, item, ...)
    int64_t cardinality = 0;          ///< categorical ids lie in 0 .. cardinality-1; 0 = not categorical

    bool is_float() const { return dtype == "float32"; }
    /// Number of values of row r (1 for scalars).
    int64_t length(int64_t row) const { return is_list ? offsets[row + 1] - offsets[row] : 1; }
    const int64_t* ints_of(int64_t row) const { return ints.data() + (is_list ? offsets[row] : row); }
    const float* floats_of(int64_t row) const { return floats.data() + (is_list ? offsets[row] : row); }
  };

  std::vector<std::string> session_ids;  ///< raw session id of each row
  std::vector<int64_t> offsets{0};       ///< rows + 1 entries into items / timestamps
  std::vector<int64_t> items;            ///< categorified item ids (DESIGN.md §2)
  std::vector<int64_t> timestamps;       ///< milliseconds since the epoch, one per item
  std::vector<int64_t> days;             ///< per row: day index (days since 1970-01-01) of the first event, the day the session belongs to
  std::vector<Column> columns;           ///< extra columns, in the workflow's output order
  int64_t item_cardinality = 0;          ///< ids of `items` lie in 0 .. item_cardinality-1 (0 = unknown)

  int64_t size() const { return static_cast<int64_t>(session_ids.size()); }
  int64_t length(int64_t row) const { return offsets[row + 1] - offsets[row]; }
  const int64_t* items_of(int64_t row) const { return items.data() + offsets[row]; }
  /// The extra column `name`, or nullptr when there is none.
  const Column* column(const std::string& name) const;
  /// Appends one session (tables without extra columns only).
  void append(const std::string& session_id, const std::vector<int64_t>& session_items,
              const std::vector<int64_t>& session_timestamps);
  /// The rows `rows`, in that order, with every column.
  SessionTable take(const std::vector<int64_t>& rows) const;
  /// Appends every row of `other`, which must have the same extra columns.
  void append(const SessionTable& other);
};

/// Writes a sessions folder incrementally: each append adds rows to the column files inside `<dir>.tmp`;
/// finish() writes manifest.json and renames the folder into place. Destroyed unfinished, it removes the
/// temporary folder, so a failure never leaves a folder that looks complete.
class SessionWriter {
 public:
  explicit SessionWriter(std::filesystem::path dir);
  ~SessionWriter();
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;

  void append(const SessionTable& rows);
  /// Writes the manifest; `like` gives the columns when nothing was appended.
  void finish(const SessionTable& like = SessionTable());
  int64_t rows() const { return rows_; }
  /// Smallest and largest list length seen per list column ("item_id" for the items).
  const std::map<std::string, std::pair<int64_t, int64_t>>& list_lengths() const { return lengths_; }

 private:
  std::filesystem::path dir_, tmp_;
  int64_t rows_ = 0, values_ = 0, id_bytes_ = 0;
  std::map<std::string, int64_t> column_values_;
  std::map<std::string, std::pair<int64_t, int64_t>> lengths_;
  SessionTable shape_;  ///< empty table with the columns of the first append
  bool started_ = false, finished_ = false;
};

/// Writes a table as a sessions folder: manifest.json plus one little-endian binary file per column.
/// The folder is built as `<dir>.tmp` and renamed, so a failure never leaves a folder that looks complete.
void write_sessions(const SessionTable& table, const std::filesystem::path& dir);
/// Reads a sessions folder written by write_sessions; throws InvalidInput naming what is wrong.
SessionTable read_sessions(const std::filesystem::path& dir);

}  // namespace seqrec::schema
