// Sessions as NVTabular writes them (Parquet, one row per session, list columns) read into a SessionTable, so a
// Merlin data folder trains and evaluates with no conversion step.
#include "seqrec/schema/parquet_sessions.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include "seqrec/common/error.h"
#include "seqrec/common/parquet_files.h"

namespace seqrec::schema {

namespace fs = std::filesystem;

namespace {

std::shared_ptr<arrow::Table> read_table(const fs::path& file) {
  const std::string where = file.string();
  auto opened = arrow::io::ReadableFile::Open(where);
  if (!opened.ok()) throw InvalidInput(where + ": " + opened.status().ToString());
  try {
    auto reader = parquet::arrow::OpenFile(*opened, arrow::default_memory_pool());
    if (!reader.ok()) throw InvalidInput(where + ": not a readable Parquet file: " + reader.status().ToString());
    (*reader)->set_use_threads(true);
    auto table = (*reader)->ReadTable();
    if (!table.ok()) throw InvalidInput(where + ": " + table.status().ToString());
    return *table;
  } catch (const parquet::ParquetException& e) {
    throw InvalidInput(where + ": not a readable Parquet file: " + e.what());
  }
}

/// Appends value i of a numeric array to ints or floats; false for a type that is neither.
bool append_number(const arrow::Array& values, int64_t i, bool as_float, std::vector<int64_t>& ints, std::vector<float>& floats) {
  double v;
  switch (values.type_id()) {
    case arrow::Type::INT8: v = static_cast<const arrow::Int8Array&>(values).Value(i); break;
    case arrow::Type::INT16: v = static_cast<const arrow::Int16Array&>(values).Value(i); break;
    case arrow::Type::INT32: v = static_cast<const arrow::Int32Array&>(values).Value(i); break;
    case arrow::Type::INT64: {
      const int64_t x = static_cast<const arrow::Int64Array&>(values).Value(i);
      if (!as_float) {
        ints.push_back(x);
        return true;
      }
      v = static_cast<double>(x);
      break;
    }
    case arrow::Type::UINT8: v = static_cast<const arrow::UInt8Array&>(values).Value(i); break;
    case arrow::Type::UINT16: v = static_cast<const arrow::UInt16Array&>(values).Value(i); break;
    case arrow::Type::UINT32: v = static_cast<const arrow::UInt32Array&>(values).Value(i); break;
    case arrow::Type::UINT64: v = static_cast<double>(static_cast<const arrow::UInt64Array&>(values).Value(i)); break;
    case arrow::Type::FLOAT: v = static_cast<const arrow::FloatArray&>(values).Value(i); break;
    case arrow::Type::DOUBLE: v = static_cast<const arrow::DoubleArray&>(values).Value(i); break;
    default: return false;
  }
  if (as_float) floats.push_back(static_cast<float>(v));
  else ints.push_back(static_cast<int64_t>(v));
  return true;
}

/// One column of `table` as values (+ offsets for a list), appended to the given vectors.
void read_column(const arrow::Table& table, const ColumnSchema& c, const std::string& where, std::vector<int64_t>& ints,
                 std::vector<float>& floats, std::vector<int64_t>* offsets) {
  auto column = table.GetColumnByName(c.name);
  if (!column) {
    std::string have;
    for (const auto& name : table.ColumnNames()) have += (have.empty() ? "'" : ", '") + name + "'";
    throw InvalidInput(where + ": no column '" + c.name + "' (the schema names it; the file has " + have + ")");
  }
  const bool as_float = c.dtype == "float32";
  for (const auto& chunk : column->chunks()) {
    const bool is_list = chunk->type_id() == arrow::Type::LIST || chunk->type_id() == arrow::Type::LARGE_LIST;
    SEQREC_CHECK(is_list == c.is_list, where, ": column '", c.name, "' is ", is_list ? "a list" : "a scalar", " (",
                 chunk->type()->ToString(), ") but the schema says ", c.is_list ? "a list" : "a scalar");
    const auto bad_type = [&](const arrow::DataType& type) {
      return InvalidInput(where + ": column '" + c.name + "' holds " + type.ToString() + "; sessions columns hold integers or floats");
    };
    if (!is_list) {
      for (int64_t i = 0; i < chunk->length(); ++i) {
        if (chunk->IsNull(i)) {
          as_float ? floats.push_back(0.0f) : ints.push_back(1);  // a null scalar: 0.0, or the null id
          continue;
        }
        if (!append_number(*chunk, i, as_float, ints, floats)) throw bad_type(*chunk->type());
      }
      continue;
    }
    const auto& list = static_cast<const arrow::BaseListArray<arrow::ListType>&>(*chunk);
    for (int64_t row = 0; row < chunk->length(); ++row) {
      if (!chunk->IsNull(row)) {
        auto values = chunk->type_id() == arrow::Type::LIST ? list.value_slice(row)
                                                             : static_cast<const arrow::LargeListArray&>(*chunk).value_slice(row);
        for (int64_t i = 0; i < values->length(); ++i) {
          if (values->IsNull(i)) {
            as_float ? floats.push_back(0.0f) : ints.push_back(1);
            continue;
          }
          if (!append_number(*values, i, as_float, ints, floats)) throw bad_type(*values->type());
        }
      }
      offsets->push_back(static_cast<int64_t>(as_float ? floats.size() : ints.size()));
    }
  }
}

}  // namespace

SessionTable read_sessions_parquet(const fs::path& path, const Schema& schema) {
  const ColumnSchema& item = schema.item_column();
  SEQREC_CHECK(item.is_list, "the schema's item column '", item.name, "' is not a list; NVTabular's sessions hold item lists");
  const ColumnSchema* session = nullptr;
  const ColumnSchema* time = nullptr;
  for (const auto& c : schema.columns) {
    if (c.has_tag("session") && c.has_tag("id") && !c.is_list) session = &c;
    if (c.has_tag("time") && c.is_list && !time) time = &c;
  }
  SessionTable table;
  table.item_cardinality = item.cardinality;
  for (const auto& c : schema.columns) {
    if (&c == &item || &c == session || &c == time || c.dtype == "string") continue;
    SessionTable::Column column;
    column.name = c.name;
    column.dtype = c.dtype == "float32" ? "float32" : "int64";
    column.is_list = c.is_list;
    if (c.is_list) column.offsets = {0};
    column.tags = c.tags;
    column.cardinality = c.cardinality;
    table.columns.push_back(std::move(column));
  }
  for (const auto& part : list_parquet_parts(path)) {
    const std::string where = part.file.string();
    auto arrow_table = read_table(part.file);
    const int64_t first_row = table.size();
    std::vector<float> unused;
    read_column(*arrow_table, item, where, table.items, unused, &table.offsets);
    const int64_t rows = static_cast<int64_t>(table.offsets.size()) - 1 - first_row;
    for (int64_t r = 0; r < rows; ++r) {
      if (session) {
        // Session ids are whatever the file holds, as text.
        const auto column = arrow_table->GetColumnByName(session->name);
        SEQREC_CHECK(column, where, ": no column '", session->name, "' (the schema's session id)");
        auto scalar = column->GetScalar(r);
        table.session_ids.push_back(scalar.ok() ? (*scalar)->ToString() : std::to_string(first_row + r));
      } else {
        table.session_ids.push_back(std::to_string(first_row + r));
      }
    }
    if (time) {
      std::vector<int64_t> time_offsets{0};
      std::vector<float> unused_floats;
      std::vector<int64_t> times;
      read_column(*arrow_table, *time, where, times, unused_floats, &time_offsets);
      table.timestamps.insert(table.timestamps.end(), times.begin(), times.end());
    } else {
      table.timestamps.resize(table.items.size(), 0);
    }
    SEQREC_CHECK(table.timestamps.size() == table.items.size(), where, ": the time list '", time ? time->name : "",
                 "' is not aligned with the item lists");
    for (int64_t r = first_row; r < table.size(); ++r)
      table.days.push_back(table.length(r) > 0 ? table.timestamps[table.offsets[r]] / 86400000 : 0);
    for (auto& column : table.columns)
      read_column(*arrow_table, schema.column(column.name), where, column.ints, column.floats, column.is_list ? &column.offsets : nullptr);
  }
  return table;
}

SessionTable read_split(const fs::path& data_dir, const std::string& name) {
  const fs::path own = data_dir / "sessions" / name;
  if (fs::exists(own / "manifest.json")) return read_sessions(own);
  for (const fs::path& candidate : {data_dir / (name + ".parquet"), data_dir / name})
    if (fs::exists(candidate) && is_parquet_input(candidate.string()))
      return read_sessions_parquet(candidate, Schema::load_folder(data_dir));
  if (fs::exists(own)) return read_sessions(own);  // names what is wrong with it
  throw InvalidInput("'" + data_dir.string() + "' has no " + name + " split: neither seqrec's sessions/" + name +
                     "/ nor NVTabular's " + name + ".parquet or " + name + "/ of part files");
}

}  // namespace seqrec::schema
