#pragma once
// Helpers shared by the op implementations: option reading with messages that name the step, and the
// per-family constructors the factory calls.
#include <nlohmann/json.hpp>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "seqrec/common/error.h"
#include "seqrec/etl/op.h"
#include "seqrec/etl/vocabulary.h"

namespace seqrec::etl::detail {

/// Reads an op's options from its JSON entry, remembering which keys were used so unknown ones are errors.
class OpArgs {
 public:
  OpArgs(const nlohmann::json& spec, std::string label);
  const std::string& label() const { return label_; }
  bool has(const std::string& key) const;
  /// "columns": a name or a list of names; required unless `required` is false.
  std::vector<std::string> columns(const std::string& key = "columns", bool required = true);
  std::string str(const std::string& key, const std::string& fallback, bool required = false);
  int64_t integer(const std::string& key, int64_t fallback, bool required = false);
  double number(const std::string& key, double fallback, bool required = false);
  bool boolean(const std::string& key, bool fallback);
  std::vector<double> numbers(const std::string& key, bool required = false);
  std::vector<std::string> strings(const std::string& key, bool required = false);
  const nlohmann::json& raw(const std::string& key, bool required = false);
  /// Output names: "out" (same count as inputs) when given, else the inputs themselves (in place).
  std::vector<std::string> outputs_for(const std::vector<std::string>& inputs);
  /// Throws InvalidInput listing the options that were given but never read.
  void finish() const;

 private:
  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;
  nlohmann::json spec_;
  std::string label_;
  mutable std::set<std::string> used_;
};

std::unique_ptr<Op> make_categorical_op(const std::string& name, OpArgs& args);
std::unique_ptr<Op> make_numeric_op(const std::string& name, OpArgs& args);
std::unique_ptr<Op> make_time_op(const std::string& name, OpArgs& args);
std::unique_ptr<Op> make_session_op(const std::string& name, OpArgs& args);
std::unique_ptr<Op> make_column_op(const std::string& name, OpArgs& args);

/// The vocabulary a Categorify step uses for its output column `column`; nullptr for other ops or columns.
const Vocabulary* categorify_vocabulary(const Op& op, const std::string& column);

/// The key column of a Groupby step; nullptr for other ops.
const std::string* groupby_key(const Op& op);

/// Days since 1970-01-01 of epoch milliseconds, rounding down for times before 1970.
inline int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace seqrec::etl::detail
