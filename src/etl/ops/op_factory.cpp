#include <algorithm>

#include "etl/ops/op_util.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::etl {

namespace detail {

OpArgs::OpArgs(const nlohmann::json& spec, std::string label) : spec_(spec), label_(std::move(label)) {
  SEQREC_CHECK(spec_.is_object(), label_, ": a step must be a JSON object like {\"op\": \"Categorify\", \"columns\": [...]}");
  used_.insert("op");
  used_.insert("online");
}

bool OpArgs::has(const std::string& key) const { return spec_.contains(key); }

void OpArgs::fail(const std::string& key, const std::string& expected) const {
  throw InvalidInput(label_ + ": option '" + key + "' must be " + expected + ", got " +
                     (spec_.contains(key) ? spec_.at(key).dump() : std::string("nothing")));
}

const nlohmann::json& OpArgs::raw(const std::string& key, bool required) {
  used_.insert(key);
  static const nlohmann::json kNull;
  if (!spec_.contains(key)) {
    if (required) fail(key, "given");
    return kNull;
  }
  return spec_.at(key);
}

std::vector<std::string> OpArgs::strings(const std::string& key, bool required) {
  const auto& v = raw(key, required);
  if (v.is_null()) return {};
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) fail(key, "a name or a list of names");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) fail(key, "a list of names");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::string> OpArgs::columns(const std::string& key, bool required) {
  auto out = strings(key, required);
  if (required && out.empty()) fail(key, "a non-empty list of column names");
  return out;
}

std::string OpArgs::str(const std::string& key, const std::string& fallback, bool required) {
  const auto& v = raw(key, required);
  if (v.is_null()) return fallback;
  if (!v.is_string()) fail(key, "a string");
  return v.get<std::string>();
}

int64_t OpArgs::integer(const std::string& key, int64_t fallback, bool required) {
  const auto& v = raw(key, required);
  if (v.is_null()) return fallback;
  if (!v.is_number_integer()) fail(key, "an integer");
  return v.get<int64_t>();
}

double OpArgs::number(const std::string& key, double fallback, bool required) {
  const auto& v = raw(key, required);
  if (v.is_null()) return fallback;
  if (!v.is_number()) fail(key, "a number");
  return v.get<double>();
}

bool OpArgs::boolean(const std::string& key, bool fallback) {
  const auto& v = raw(key);
  if (v.is_null()) return fallback;
  if (!v.is_boolean()) fail(key, "true or false");
  return v.get<bool>();
}

std::vector<double> OpArgs::numbers(const std::string& key, bool required) {
  const auto& v = raw(key, required);
  if (v.is_null()) return {};
  if (!v.is_array()) fail(key, "a list of numbers");
  std::vector<double> out;
  for (const auto& e : v) {
    if (!e.is_number()) fail(key, "a list of numbers");
    out.push_back(e.get<double>());
  }
  return out;
}

std::vector<std::string> OpArgs::outputs_for(const std::vector<std::string>& inputs) {
  auto out = strings("out");
  if (out.empty()) return inputs;
  if (out.size() != inputs.size())
    fail("out", "a list of " + std::to_string(inputs.size()) + " names, one per input column");
  return out;
}

void OpArgs::finish() const {
  std::vector<std::string> known;
  for (const auto& k : used_)
    if (k != "op") known.push_back(k);
  if (std::find(known.begin(), known.end(), "online") == known.end()) known.push_back("online");
  for (auto it = spec_.begin(); it != spec_.end(); ++it)
    SEQREC_CHECK(used_.count(it.key()), unknown_key_message(label_, it.key(), it.key(), known));
}

}  // namespace detail

std::vector<std::string> op_names() {
  return {"Categorify", "HashBucket", "Bucketize", "Normalize", "NormalizeMinMax", "LogOp", "FillMissing",
          "FillMedian", "Clip", "MakeTimestamp", "TimeFeatures", "ItemAge", "DifferenceLag", "Groupby",
          "DropRepeats", "ListSlice", "Filter", "Dropna", "Rename", "AddTags", "Drop", "Select", "IsIn"};
}

std::unique_ptr<Op> make_op(const nlohmann::json& spec, const std::string& label) {
  detail::OpArgs args(spec, label);
  std::string name = args.str("op", "", /*required=*/true);
  std::unique_ptr<Op> op;
  for (auto* make : {detail::make_categorical_op, detail::make_numeric_op, detail::make_time_op,
                     detail::make_session_op, detail::make_column_op}) {
    op = make(name, args);
    if (op) break;
  }
  if (!op) {
    std::string known;
    for (const auto& n : op_names()) known += (known.empty() ? "" : ", ") + n;
    throw InvalidInput(label + ": unknown op '" + name + "'; known ops: " + known);
  }
  op->label_ = label;
  op->spec_ = spec;
  op->online_ = args.boolean("online", name != "Filter");
  args.finish();
  return op;
}

}  // namespace seqrec::etl
