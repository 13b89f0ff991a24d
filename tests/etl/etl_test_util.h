#pragma once
// Small builders for ETL tests: frames from literal values, and one op applied (fitted first if stateful).
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "seqrec/etl/frame.h"
#include "seqrec/etl/op.h"

namespace seqrec::etl::test_util {

inline Column ints(const std::string& name, const std::vector<std::optional<int64_t>>& values, DType dtype = DType::kInt64) {
  Column c(name, dtype);
  for (size_t i = 0; i < values.size(); ++i) {
    c.ints.push_back(values[i].value_or(0));
    if (!values[i]) c.set_null(i, true);
    else if (!c.nulls.empty()) c.nulls.resize(c.ints.size(), 0);
  }
  return c;
}

inline Column floats(const std::string& name, const std::vector<std::optional<double>>& values) {
  Column c(name, DType::kFloat64);
  for (size_t i = 0; i < values.size(); ++i) {
    c.floats.push_back(values[i].value_or(0));
    if (!values[i]) c.set_null(i, true);
    else if (!c.nulls.empty()) c.nulls.resize(c.floats.size(), 0);
  }
  return c;
}

inline Column strs(const std::string& name, const std::vector<std::optional<std::string>>& values) {
  Column c(name, DType::kString);
  for (size_t i = 0; i < values.size(); ++i) {
    c.strings.push_back(values[i].value_or(""));
    if (!values[i]) c.set_null(i, true);
    else if (!c.nulls.empty()) c.nulls.resize(c.strings.size(), 0);
  }
  return c;
}

/// A list column from per-row lists of ints.
inline Column int_lists(const std::string& name, const std::vector<std::vector<int64_t>>& rows) {
  Column c(name, DType::kInt64);
  c.is_list = true;
  c.offsets.push_back(0);
  for (const auto& r : rows) {
    c.ints.insert(c.ints.end(), r.begin(), r.end());
    c.offsets.push_back(static_cast<int64_t>(c.ints.size()));
  }
  return c;
}

inline Frame frame(std::vector<Column> columns) {
  Frame f;
  f.columns = std::move(columns);
  return f;
}

/// Builds the op, fits it on `f` when it is stateful, transforms `f`; returns what transform removed.
inline int64_t apply(const nlohmann::json& spec, Frame& f) {
  auto op = make_op(spec, "step 1 (" + spec.value("op", std::string("?")) + ")");
  if (op->stateful()) {
    op->fit(f);
    op->finish_fit();
  }
  return op->transform(f);
}

/// Row r of a list column as ints.
inline std::vector<int64_t> row_of(const Column& c, int64_t r) {
  return std::vector<int64_t>(c.ints.begin() + c.offsets[r], c.ints.begin() + c.offsets[r + 1]);
}

}  // namespace seqrec::etl::test_util
