// Parquet input through Arrow C++ (the pyarrow wheel's libparquet): files, folders of part files and hive
// partitions, read one row group at a time and converted to the workflow's typed raw columns.
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <arrow/util/thread_pool.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <thread>

#include "seqrec/common/error.h"
#include "seqrec/etl/parquet.h"

namespace seqrec::etl {

namespace fs = std::filesystem;

namespace {

template <typename T>
T arrow_value(arrow::Result<T> result, const std::string& where) {
  if (!result.ok()) throw InvalidInput(where + ": " + result.status().ToString());
  return std::move(result).ValueUnsafe();
}

void arrow_check(const arrow::Status& status, const std::string& where) {
  if (!status.ok()) throw InvalidInput(where + ": " + status.ToString());
}

/// A value of any Arrow array as text (strings as they are, numbers printed), for string columns and parsing.
std::string value_text(const arrow::Array& array, int64_t i) {
  switch (array.type_id()) {
    case arrow::Type::STRING: return std::string(static_cast<const arrow::StringArray&>(array).GetView(i));
    case arrow::Type::LARGE_STRING: return std::string(static_cast<const arrow::LargeStringArray&>(array).GetView(i));
    case arrow::Type::BINARY: return std::string(static_cast<const arrow::BinaryArray&>(array).GetView(i));
    case arrow::Type::DICTIONARY: {
      const auto& dict = static_cast<const arrow::DictionaryArray&>(array);
      return value_text(*dict.dictionary(), dict.GetValueIndex(i));
    }
    case arrow::Type::BOOL: return static_cast<const arrow::BooleanArray&>(array).Value(i) ? "1" : "0";
    default: {
      auto scalar = array.GetScalar(i);
      return scalar.ok() ? (*scalar)->ToString() : std::string();
    }
  }
}

/// An integer-typed array's value as int64 (nullopt for other types).
std::optional<int64_t> integer_value(const arrow::Array& array, int64_t i) {
  switch (array.type_id()) {
    case arrow::Type::INT8: return static_cast<const arrow::Int8Array&>(array).Value(i);
    case arrow::Type::INT16: return static_cast<const arrow::Int16Array&>(array).Value(i);
    case arrow::Type::INT32: return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::INT64: return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::UINT8: return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case arrow::Type::UINT16: return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case arrow::Type::UINT32: return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case arrow::Type::UINT64: {
      const uint64_t v = static_cast<const arrow::UInt64Array&>(array).Value(i);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    case arrow::Type::BOOL: return static_cast<const arrow::BooleanArray&>(array).Value(i) ? 1 : 0;
    default: return std::nullopt;
  }
}

std::optional<double> float_value(const arrow::Array& array, int64_t i) {
  switch (array.type_id()) {
    case arrow::Type::FLOAT: return static_cast<const arrow::FloatArray&>(array).Value(i);
    case arrow::Type::DOUBLE: return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::HALF_FLOAT: return std::nullopt;
    default: {
      if (auto v = integer_value(array, i)) return static_cast<double>(*v);
      return std::nullopt;
    }
  }
}

/// Milliseconds since the epoch of a timestamp or date array's value (nullopt for other types).
std::optional<int64_t> native_timestamp_ms(const arrow::Array& array, int64_t i) {
  auto floor_div = [](int64_t v, int64_t d) { return v >= 0 ? v / d : -((-v + d - 1) / d); };
  switch (array.type_id()) {
    case arrow::Type::TIMESTAMP: {
      const auto& type = static_cast<const arrow::TimestampType&>(*array.type());
      const int64_t v = static_cast<const arrow::TimestampArray&>(array).Value(i);
      switch (type.unit()) {
        case arrow::TimeUnit::SECOND: return v * 1000;
        case arrow::TimeUnit::MILLI: return v;
        case arrow::TimeUnit::MICRO: return floor_div(v, 1000);
        case arrow::TimeUnit::NANO: return floor_div(v, 1000000);
      }
      return std::nullopt;
    }
    case arrow::Type::DATE32: return static_cast<int64_t>(static_cast<const arrow::Date32Array&>(array).Value(i)) * 86400000LL;
    case arrow::Type::DATE64: return static_cast<const arrow::Date64Array&>(array).Value(i);
    default: return std::nullopt;
  }
}

/// Appends value i of `array` to `column` as `spec` types it; false with `problem` when it is not of that type.
bool append_value(const arrow::Array& array, int64_t i, const InputColumn& spec, Column& column, std::string* problem) {
  if (array.IsNull(i)) return append_text_value("", spec, column, problem);  // a null: the text reader's empty value
  switch (spec.dtype) {
    case DType::kString: return append_text_value(value_text(array, i), spec, column, problem);
    case DType::kInt64: {
      if (auto v = integer_value(array, i)) {
        column.ints.push_back(*v);
        return true;
      }
      if (auto f = float_value(array, i); f && std::floor(*f) == *f && std::abs(*f) < 9.2e18) {
        column.ints.push_back(static_cast<int64_t>(*f));
        return true;
      }
      return append_text_value(value_text(array, i), spec, column, problem);
    }
    case DType::kFloat64: {
      if (auto f = float_value(array, i)) {
        column.floats.push_back(*f);
        return true;
      }
      return append_text_value(value_text(array, i), spec, column, problem);  // decimals, strings
    }
    case DType::kTimestamp: {
      std::optional<int64_t> ms = native_timestamp_ms(array, i);
      if (!ms) {
        if (auto v = integer_value(array, i)) {
          const bool millis = spec.format == TimestampFormat::kMilliseconds ||
                              (spec.format == TimestampFormat::kAuto && std::abs(*v) > 100000000000LL);
          if (spec.format != TimestampFormat::kIso8601) ms = millis ? *v : *v * 1000;
        }
      }
      if (!ms) return append_text_value(value_text(array, i), spec, column, problem);  // ISO-8601 strings
      if (!timestamp_in_range(*ms)) {
        *problem = "timestamp " + std::to_string(*ms) + " ms is outside 1970-01-01 .. 2199-12-31 (check its unit)";
        return false;
      }
      column.ints.push_back(*ms);
      return true;
    }
  }
  return false;
}

/// The first bad value of a row: which column, and why.
struct BadValue {
  std::string column, reason, text;
};

class ParquetPartReader {
 public:
  ParquetPartReader(const ParquetPart& part, const InputSpec& spec, const ReaderOptions& options)
      : part_(part), spec_(spec), options_(options), where_(part.file.string()) {
    auto file = arrow_value(arrow::io::ReadableFile::Open(where_), where_);
    try {
      reader_ = arrow_value(parquet::arrow::OpenFile(file, arrow::default_memory_pool()), where_);
    } catch (const parquet::ParquetException& e) {
      throw InvalidInput(where_ + ": not a readable Parquet file: " + e.what());
    }
    reader_->set_use_threads(true);
    const auto* schema = reader_->parquet_reader()->metadata()->schema();
    for (const auto& c : spec_.columns) {
      int index = schema->ColumnIndex(c.name);
      for (size_t a = 0; a < c.aliases.size() && index < 0; ++a) index = schema->ColumnIndex(c.aliases[a]);
      const auto partition = std::find_if(part_.partitions.begin(), part_.partitions.end(),
                                          [&](const auto& kv) { return kv.first == c.name; });
      if (index < 0 && partition == part_.partitions.end()) {
        std::string have;
        for (int k = 0; k < schema->num_columns(); ++k) have += (have.empty() ? "'" : ", '") + schema->Column(k)->path()->ToDotString() + "'";
        throw InvalidInput(where_ + ": no column named '" + c.name + "' (it has: " + have + ")");
      }
      sources_.push_back(index);
      if (index >= 0) leaf_columns_.push_back(index);
    }
  }

  int row_groups() const { return reader_->num_row_groups(); }

  /// Row group `g` as a typed frame; bad rows go to `bad` (row -> its first bad value) and are left out.
  Frame read(int g, std::map<int64_t, BadValue>& bad) {
    const std::string where = where_ + ": row group " + std::to_string(g);
    std::shared_ptr<arrow::Table> table;
    try {
      table = arrow_value(reader_->ReadRowGroup(g, leaf_columns_), where);
    } catch (const parquet::ParquetException& e) {
      throw InvalidInput(where + ": " + e.what());
    }
    const int64_t rows = table->num_rows();
    Frame frame;
    for (size_t k = 0; k < spec_.columns.size(); ++k) {
      const auto& c = spec_.columns[k];
      Column column(c.name, c.dtype);
      std::string problem;
      if (sources_[k] < 0) {
        const auto& value = std::find_if(part_.partitions.begin(), part_.partitions.end(),
                                         [&](const auto& kv) { return kv.first == c.name; })->second;
        for (int64_t r = 0; r < rows; ++r)
          if (!append_text_value(value, c, column, &problem)) bad.emplace(r, BadValue{c.name, problem, value});
      } else {
        const int field = table->schema()->GetFieldIndex(reader_->parquet_reader()->metadata()->schema()->Column(sources_[k])->name());
        const auto& chunks = table->column(field)->chunks();
        int64_t r = 0;
        for (const auto& chunk : chunks)
          for (int64_t i = 0; i < chunk->length(); ++i, ++r) {
            const size_t before = column.num_values();
            if (!append_value(*chunk, i, c, column, &problem)) {
              bad.emplace(r, BadValue{c.name, problem, value_text(*chunk, i)});
              column.resize_values(before + 1);  // keeps the rows aligned; the row is dropped below
            }
          }
      }
      frame.columns.push_back(std::move(column));
    }
    if (bad.empty()) return frame;
    std::vector<int64_t> keep;
    for (int64_t r = 0; r < rows; ++r)
      if (!bad.count(r)) keep.push_back(r);
    return frame.take(keep);
  }

 private:
  const ParquetPart& part_;
  const InputSpec& spec_;
  const ReaderOptions& options_;
  const std::string where_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::vector<int> sources_;       ///< per spec column: its leaf column index, or -1 for a partition key
  std::vector<int> leaf_columns_;  ///< the leaf columns read
};

}  // namespace

void read_parquet_frames(const std::string& path, const InputSpec& spec, const ReaderOptions& options, ReadStats& stats,
                         const std::function<void(Frame&&)>& consume) {
  const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  arrow_check(arrow::SetCpuThreadPoolCapacity(threads), path);
  std::ofstream rejects;
  for (const auto& part : list_parquet_parts(path)) {
    ParquetPartReader reader(part, spec, options);
    for (int g = 0; g < reader.row_groups(); ++g) {
      std::map<int64_t, BadValue> bad;
      Frame frame = reader.read(g, bad);
      stats.rows_read += frame.rows() + static_cast<int64_t>(bad.size());
      for (const auto& [row, value] : bad) {
        const std::string where = part.file.string() + ": row group " + std::to_string(g) + ", row " + std::to_string(row) +
                                  ", column '" + value.column + "'";
        if (spec.on_bad_row == BadRowPolicy::kError)
          throw InvalidInput(where + ": " + value.reason + " (use --on-bad-row=skip or quarantine to count and set bad rows aside)");
        ++stats.rows_skipped;
        if (stats.first_skip_reasons.size() < 5) stats.first_skip_reasons.push_back(where + ": " + value.reason);
        if (spec.on_bad_row == BadRowPolicy::kQuarantine) {
          SEQREC_CHECK(!options.quarantine.empty(), "on_bad_row=quarantine needs a rejects file");
          if (!rejects.is_open()) {
            const bool fresh = !fs::exists(options.quarantine);
            if (options.quarantine.has_parent_path()) fs::create_directories(options.quarantine.parent_path());
            rejects.open(options.quarantine, std::ios::app);
            SEQREC_CHECK(rejects, "cannot open '", options.quarantine.string(), "' for writing rejects");
            if (fresh) rejects << "file\tline\tfield\treason\trow\n";
          }
          // A Parquet row has no line: "row group G row R" stands in its place.
          rejects << part.file.string() << "\trow group " << g << " row " << row << '\t' << value.column << '\t' << value.reason
                  << '\t' << value.text << '\n';
          ++stats.rows_quarantined;
          stats.quarantine_file = options.quarantine.string();
        }
      }
      if (frame.rows() > 0) consume(std::move(frame));
    }
  }
}

}  // namespace seqrec::etl
