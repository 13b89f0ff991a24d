#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seqrec::etl {

/// Value types of a Frame column. Timestamps are stored as int64 milliseconds since the Unix epoch (UTC).
enum class DType { kInt64, kFloat64, kString, kTimestamp };

/// "int64", "float64", "string", "timestamp".
std::string to_string(DType dtype);
/// Accepts int, int64, integer, float, float64, double, string, str, timestamp; throws InvalidInput otherwise.
DType parse_dtype(const std::string& name);

/// One column of a Frame: one value per row (scalar) or one list per row (values + offsets, Arrow's layout),
/// with an optional null mask. Ops read and write columns in place; tags and cardinality travel to the schema.
struct Column {
  std::string name;
  DType dtype = DType::kInt64;
  bool is_list = false;
  std::vector<int64_t> ints;        ///< kInt64 and kTimestamp values
  std::vector<double> floats;       ///< kFloat64 values
  std::vector<std::string> strings; ///< kString values
  std::vector<uint8_t> nulls;       ///< per value, 1 = null; empty means no value is null
  std::vector<int64_t> offsets;     ///< lists only: rows + 1 entries into the values
  std::vector<std::string> tags;    ///< schema tags added by ops (categorical, continuous, list, item, ...)
  int64_t cardinality = 0;          ///< categorical ids lie in 0 .. cardinality-1; 0 = not categorical

  Column() = default;
  Column(std::string name, DType dtype) : name(std::move(name)), dtype(dtype) {}

  bool is_int() const { return dtype == DType::kInt64 || dtype == DType::kTimestamp; }
  bool is_numeric() const { return dtype != DType::kString; }
  size_t num_values() const;
  int64_t rows() const { return is_list ? static_cast<int64_t>(offsets.size()) - 1 : static_cast<int64_t>(num_values()); }
  bool is_null(size_t i) const { return !nulls.empty() && nulls[i] != 0; }
  bool has_nulls() const;
  void set_null(size_t i, bool null);
  /// Value i as a double (ints converted); callers check is_numeric() and nulls first.
  double number(size_t i) const { return dtype == DType::kFloat64 ? floats[i] : static_cast<double>(ints[i]); }
  /// Value i as text: strings as they are, numbers printed; "" for nulls.
  std::string text(size_t i) const;
  /// Empties the values (keeps name, type, tags); lists restart with offsets {0}.
  void clear_values();
  /// Reserves and sizes the value storage of the column's type to n (new values are 0 / "").
  void resize_values(size_t n);
  /// Appends value `i` of `other` (same dtype).
  void push_value_from(const Column& other, size_t i);
  /// Converts int storage to float64 in place (no-op when already float).
  void to_float();
  void add_tag(const std::string& tag);
  void remove_tag(const std::string& tag);
  bool has_tag(const std::string& tag) const;

  /// The rows `rows` of this column, in that order.
  Column take(const std::vector<int64_t>& rows) const;
  /// Appends all rows of `other` (same name, dtype and kind).
  void append(const Column& other);
};

/// A table of equally long columns: raw events (one row per event) or sessions (one row per session).
class Frame {
 public:
  std::vector<Column> columns;

  int64_t rows() const { return columns.empty() ? 0 : columns.front().rows(); }
  Column* find(const std::string& name);
  const Column* find(const std::string& name) const;
  /// The column `name`; throws InvalidInput naming `who` (an op) and listing the columns there are.
  Column& at(const std::string& name, const std::string& who = "");
  const Column& at(const std::string& name, const std::string& who = "") const;
  /// Replaces the column of the same name, or appends it.
  void set(Column column);
  void remove(const std::string& name);
  std::vector<std::string> names() const;
  /// Rows `rows` of every column.
  Frame take(const std::vector<int64_t>& rows) const;
  /// Appends the rows of `other`, which must have the same columns (an empty frame adopts them).
  void append(const Frame& other);
};

}  // namespace seqrec::etl
