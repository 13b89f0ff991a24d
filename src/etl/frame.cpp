#include "seqrec/etl/frame.h"

#include <algorithm>
#include <cstdio>

#include "seqrec/common/error.h"

namespace seqrec::etl {

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::kInt64: return "int64";
    case DType::kFloat64: return "float64";
    case DType::kString: return "string";
    case DType::kTimestamp: return "timestamp";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  if (name == "int" || name == "int64" || name == "integer") return DType::kInt64;
  if (name == "float" || name == "float64" || name == "double" || name == "float32") return DType::kFloat64;
  if (name == "string" || name == "str" || name == "category") return DType::kString;
  if (name == "timestamp" || name == "time" || name == "datetime") return DType::kTimestamp;
  throw InvalidInput("unknown column type '" + name + "': expected int, float, string or timestamp");
}

size_t Column::num_values() const {
  switch (dtype) {
    case DType::kFloat64: return floats.size();
    case DType::kString: return strings.size();
    default: return ints.size();
  }
}

bool Column::has_nulls() const { return std::find(nulls.begin(), nulls.end(), 1) != nulls.end(); }

void Column::set_null(size_t i, bool null) {
  if (nulls.empty()) {
    if (!null) return;
    nulls.assign(num_values(), 0);
  }
  nulls[i] = null ? 1 : 0;
}

std::string Column::text(size_t i) const {
  if (is_null(i)) return "";
  switch (dtype) {
    case DType::kString: return strings[i];
    case DType::kFloat64: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", floats[i]);
      return buf;
    }
    default: return std::to_string(ints[i]);
  }
}

void Column::clear_values() {
  ints.clear();
  floats.clear();
  strings.clear();
  nulls.clear();
  offsets.clear();
  if (is_list) offsets.push_back(0);
}

void Column::resize_values(size_t n) {
  switch (dtype) {
    case DType::kFloat64: floats.resize(n); break;
    case DType::kString: strings.resize(n); break;
    default: ints.resize(n); break;
  }
  if (!nulls.empty()) nulls.resize(n, 0);
}

void Column::push_value_from(const Column& other, size_t i) {
  switch (dtype) {
    case DType::kFloat64: floats.push_back(other.floats[i]); break;
    case DType::kString: strings.push_back(other.strings[i]); break;
    default: ints.push_back(other.ints[i]); break;
  }
  if (other.is_null(i)) {
    if (nulls.empty()) nulls.assign(num_values() - 1, 0);
    nulls.push_back(1);
  } else if (!nulls.empty()) {
    nulls.push_back(0);
  }
}

void Column::to_float() {
  if (dtype == DType::kFloat64) return;
  SEQREC_CHECK(dtype != DType::kString, "column '", name, "' holds strings, not numbers");
  floats.assign(ints.begin(), ints.end());
  ints.clear();
  ints.shrink_to_fit();
  dtype = DType::kFloat64;
}

void Column::add_tag(const std::string& tag) {
  if (!has_tag(tag)) tags.push_back(tag);
}

void Column::remove_tag(const std::string& tag) { tags.erase(std::remove(tags.begin(), tags.end(), tag), tags.end()); }

bool Column::has_tag(const std::string& tag) const { return std::find(tags.begin(), tags.end(), tag) != tags.end(); }

Column Column::take(const std::vector<int64_t>& rows) const {
  Column out(name, dtype);
  out.is_list = is_list;
  out.tags = tags;
  out.cardinality = cardinality;
  const bool masked = !nulls.empty();
  auto copy_range = [&](size_t begin, size_t end) {
    switch (dtype) {
      case DType::kFloat64: out.floats.insert(out.floats.end(), floats.begin() + begin, floats.begin() + end); break;
      case DType::kString: out.strings.insert(out.strings.end(), strings.begin() + begin, strings.begin() + end); break;
      default: out.ints.insert(out.ints.end(), ints.begin() + begin, ints.begin() + end); break;
    }
    if (masked) out.nulls.insert(out.nulls.end(), nulls.begin() + begin, nulls.begin() + end);
  };
  if (is_list) {
    out.offsets.reserve(rows.size() + 1);
    out.offsets.push_back(0);
    for (int64_t r : rows) {
      copy_range(offsets[r], offsets[r + 1]);
      out.offsets.push_back(out.offsets.back() + offsets[r + 1] - offsets[r]);
    }
  } else {
    out.resize_values(0);
    switch (dtype) {
      case DType::kFloat64: out.floats.reserve(rows.size()); for (int64_t r : rows) out.floats.push_back(floats[r]); break;
      case DType::kString: out.strings.reserve(rows.size()); for (int64_t r : rows) out.strings.push_back(strings[r]); break;
      default: out.ints.reserve(rows.size()); for (int64_t r : rows) out.ints.push_back(ints[r]); break;
    }
    if (masked)
      for (int64_t r : rows) out.nulls.push_back(nulls[r]);
  }
  return out;
}

void Column::append(const Column& other) {
  SEQREC_ASSERT(dtype == other.dtype && is_list == other.is_list, "appending column '", other.name, "' of another type");
  const size_t before = num_values();
  if (is_list) {
    if (offsets.empty()) offsets.push_back(0);
    const int64_t base = offsets.back();
    for (size_t r = 1; r < other.offsets.size(); ++r) offsets.push_back(base + other.offsets[r]);
  }
  switch (dtype) {
    case DType::kFloat64: floats.insert(floats.end(), other.floats.begin(), other.floats.end()); break;
    case DType::kString: strings.insert(strings.end(), other.strings.begin(), other.strings.end()); break;
    default: ints.insert(ints.end(), other.ints.begin(), other.ints.end()); break;
  }
  if (!nulls.empty() || !other.nulls.empty()) {
    nulls.resize(before, 0);
    if (other.nulls.empty()) nulls.resize(num_values(), 0);
    else nulls.insert(nulls.end(), other.nulls.begin(), other.nulls.end());
  }
}

Column* Frame::find(const std::string& name) {
  for (auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

const Column* Frame::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

Column& Frame::at(const std::string& name, const std::string& who) {
  return const_cast<Column&>(static_cast<const Frame*>(this)->at(name, who));
}

const Column& Frame::at(const std::string& name, const std::string& who) const {
  if (const Column* c = find(name)) return *c;
  std::string have;
  for (const auto& c : columns) have += (have.empty() ? "'" : ", '") + c.name + "'";
  throw InvalidInput((who.empty() ? std::string() : who + ": ") + "no column named '" + name +
                     "' at this step; columns are: " + (have.empty() ? "(none)" : have));
}

void Frame::set(Column column) {
  if (Column* c = find(column.name)) *c = std::move(column);
  else columns.push_back(std::move(column));
}

void Frame::remove(const std::string& name) {
  columns.erase(std::remove_if(columns.begin(), columns.end(), [&](const Column& c) { return c.name == name; }),
                columns.end());
}

std::vector<std::string> Frame::names() const {
  std::vector<std::string> out;
  for (const auto& c : columns) out.push_back(c.name);
  return out;
}

Frame Frame::take(const std::vector<int64_t>& rows) const {
  Frame out;
  out.columns.reserve(columns.size());
  for (const auto& c : columns) out.columns.push_back(c.take(rows));
  return out;
}

void Frame::append(const Frame& other) {
  if (columns.empty()) {
    columns = other.columns;
    return;
  }
  SEQREC_ASSERT(columns.size() == other.columns.size(), "appending frames with different columns");
  for (size_t i = 0; i < columns.size(); ++i) {
    SEQREC_ASSERT(columns[i].name == other.columns[i].name, "appending frames with different columns");
    columns[i].append(other.columns[i]);
  }
}

}  // namespace seqrec::etl
