// The flag form (WorkflowOptions) and the split options.
#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"
#include "seqrec/etl/workflow.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {


int64_t parse_cutoff(const json& v, const std::string& what) {
  if (v.is_number_integer()) {
    auto ms = parse_timestamp_ms(std::to_string(v.get<int64_t>()), TimestampFormat::kAuto);
    return *ms;
  }
  SEQREC_CHECK(v.is_string(), what, " must be a date (\"2024-01-07\"), an ISO time or epoch seconds/milliseconds");
  auto ms = parse_timestamp_ms(v.get<std::string>(), TimestampFormat::kAuto);
  SEQREC_CHECK(ms.has_value(), what, ": cannot parse '", v.get<std::string>(), "' as a time");
  return *ms;
}
}  // namespace

const Choices<SplitMethod>& split_methods() {
  static const Choices<SplitMethod> choices = {{"time", SplitMethod::kTime},
                                               {"random", SplitMethod::kRandom},
                                               {"cutoffs", SplitMethod::kCutoffs},
                                               {"window", SplitMethod::kWindow},
                                               {"none", SplitMethod::kNone}};
  return choices;
}

const Choices<SplitWindow>& split_windows() {
  static const Choices<SplitWindow> choices = {{"day", SplitWindow::kDay}, {"hour", SplitWindow::kHour}};
  return choices;
}

json SplitOptions::to_json() const {
  json j = {{"method", choice_name(split_methods(), method)}};
  if (method == SplitMethod::kTime) j.update({{"valid_days", valid_days}, {"test_days", test_days}});
  if (method == SplitMethod::kRandom || method == SplitMethod::kWindow)
    j.update({{"valid_fraction", valid_fraction}, {"test_fraction", test_fraction}, {"seed", seed}});
  if (method == SplitMethod::kWindow) j["window"] = choice_name(split_windows(), window);
  if (method == SplitMethod::kCutoffs) j.update({{"valid_from_ms", valid_from_ms}, {"test_from_ms", test_from_ms}});
  return j;
}

SplitOptions SplitOptions::from_json(const json& j, const std::string& where) {
  SplitOptions s;
  SEQREC_CHECK(j.is_object(), where, ": \"split\" must be an object like {\"method\": \"window\", \"window\": \"day\"}");
  std::vector<std::string> problems;
  OptionsReader(j, "split", where, problems)
      .read_choice("method", s.method, split_methods()).read("valid_days", s.valid_days).read("test_days", s.test_days)
      .read("valid_fraction", s.valid_fraction).read("test_fraction", s.test_fraction).read("seed", s.seed)
      .read_choice("window", s.window, split_windows()).read("valid_from_ms", s.valid_from_ms).read("test_from_ms", s.test_from_ms)
      .known("valid_from").known("test_from").finish();
  if (!problems.empty()) {
    std::string message = problems.front();
    for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
    throw InvalidInput(message);
  }
  if (j.contains("valid_from")) s.valid_from_ms = parse_cutoff(j.at("valid_from"), where + ": split.valid_from");
  if (j.contains("test_from")) s.test_from_ms = parse_cutoff(j.at("test_from"), where + ": split.test_from");
  return s;
}

std::vector<std::string> SplitOptions::problems() const {
  std::vector<std::string> p;
  if (method == SplitMethod::kTime) {
    if (valid_days < 0 || test_days < 1) p.push_back("--valid-days must be >= 0 and --test-days >= 1");
  } else if (method == SplitMethod::kRandom || method == SplitMethod::kWindow) {
    if (valid_fraction < 0 || test_fraction < 0 || valid_fraction + test_fraction >= 1 ||
        (method == SplitMethod::kRandom && test_fraction <= 0))
      p.push_back("--valid-fraction and --test-fraction must be >= 0, test > 0, and sum to less than 1");
  } else if (method == SplitMethod::kCutoffs) {
    if (test_from_ms <= 0 || (valid_from_ms > 0 && valid_from_ms > test_from_ms))
      p.push_back("cutoffs split needs test_from (and valid_from, if given, not after it)");
  }
  return p;
}

json WorkflowOptions::to_json() const {
  return {{"columns",
           {{"session", columns.session},
            {"item", columns.item},
            {"timestamp", columns.timestamp},
            {"timestamp_format", to_string(columns.timestamp_format)},
            {"date_parts", columns.date_parts},
            {"order", columns.order}}},
          {"delimiter", delimiter == 0 ? std::string() : std::string(1, delimiter)},
          {"min_item_frequency", min_item_frequency},
          {"drop_repeats", drop_repeats},
          {"max_length", max_length},
          {"min_length", min_length},
          {"on_bad_row", choice_name(bad_row_policies(), on_bad_row)},
          {"split",
           {{"method", choice_name(split_methods(), split.method)},
            {"valid_days", split.valid_days},
            {"test_days", split.test_days},
            {"valid_fraction", split.valid_fraction},
            {"test_fraction", split.test_fraction},
            {"seed", split.seed}}}};
}

WorkflowOptions WorkflowOptions::from_json(const json& j) {
  WorkflowOptions o;
  const auto& c = j.at("columns");
  o.columns.session = c.at("session");
  o.columns.item = c.at("item");
  o.columns.timestamp = c.at("timestamp");
  o.columns.timestamp_format = parse_timestamp_format(c.at("timestamp_format"));
  o.columns.date_parts = c.at("date_parts").get<std::vector<std::string>>();
  o.columns.order = c.at("order");
  std::string d = j.at("delimiter");
  o.delimiter = d.empty() ? 0 : d[0];
  o.min_item_frequency = j.at("min_item_frequency");
  o.drop_repeats = j.at("drop_repeats");
  o.max_length = j.at("max_length");
  o.min_length = j.at("min_length");
  o.on_bad_row = parse_choice(bad_row_policies(), j.at("on_bad_row").get<std::string>(), "on_bad_row");
  const auto& s = j.at("split");
  o.split.method = parse_choice(split_methods(), s.at("method").get<std::string>(), "split.method");
  o.split.valid_days = s.at("valid_days");
  o.split.test_days = s.at("test_days");
  o.split.valid_fraction = s.at("valid_fraction");
  o.split.test_fraction = s.at("test_fraction");
  o.split.seed = s.at("seed");
  return o;
}

std::vector<std::string> WorkflowOptions::problems() const {
  std::vector<std::string> p;
  if (columns.session.empty()) p.push_back("--session-col is empty");
  if (columns.item.empty()) p.push_back("--item-col is empty");
  if (columns.date_parts.empty() && columns.timestamp.empty())
    p.push_back("give a timestamp column (--timestamp-col) or date columns (--date-cols year,month,day)");
  if (!columns.date_parts.empty() && columns.date_parts.size() != 3)
    p.push_back("--date-cols needs exactly 3 columns (year,month,day), got " + std::to_string(columns.date_parts.size()));
  if (min_item_frequency < 1) p.push_back("--min-item-freq must be >= 1");
  if (max_length < 1) p.push_back("--max-length must be >= 1");
  if (min_length < 1) p.push_back("--min-length must be >= 1");
  if (min_length > max_length) p.push_back("--min-length must not exceed --max-length");
  if (split.method != SplitMethod::kTime && split.method != SplitMethod::kRandom)
    p.push_back("--split must be time or random, got '" + choice_name(split_methods(), split.method) +
                "' (a workflow file gives the others)");
  else
    for (auto& q : split.problems()) p.push_back(q);
  return p;
}

json WorkflowOptions::to_spec() const {
  const auto& c = columns;
  const std::string ts = c.timestamp.empty() ? std::string("timestamp") : c.timestamp;
  json input_columns = json::array();
  input_columns.push_back({{"name", c.session}, {"type", "string"}, {"required", true}});
  input_columns.push_back({{"name", c.item}, {"type", "string"}});
  json steps = json::array();
  if (!c.date_parts.empty()) {
    for (const auto& d : c.date_parts) input_columns.push_back({{"name", d}, {"type", "int"}, {"required", true}});
    json make = {{"op", "MakeTimestamp"}, {"year", c.date_parts.at(0)}, {"month", c.date_parts.at(1)},
                 {"day", c.date_parts.at(2)}, {"out", ts}};
    if (!c.order.empty()) make["seconds"] = c.order;
    steps.push_back(make);
  } else {
    input_columns.push_back({{"name", ts}, {"type", "timestamp"}, {"format", to_string(c.timestamp_format)}, {"required", true}});
  }
  if (!c.order.empty()) input_columns.push_back({{"name", c.order}, {"type", "int"}, {"required", true}});
  const std::string item_list = c.item + "-list", ts_list = ts + "-list";
  steps.push_back({{"op", "Categorify"}, {"columns", json::array({c.item})}, {"freq_threshold", min_item_frequency}});
  json sort = json::array({ts});
  if (!c.order.empty()) sort.push_back(c.order);
  steps.push_back({{"op", "Groupby"}, {"by", c.session}, {"sort", sort},
                   {"aggs", {{c.item, json::array({"list"})}, {ts, json::array({"list", "first"})}}}});
  if (drop_repeats) steps.push_back({{"op", "DropRepeats"}, {"column", item_list}});
  steps.push_back({{"op", "ListSlice"}, {"columns", json::array({item_list, ts_list})}, {"last", max_length}});
  steps.push_back({{"op", "Filter"}, {"where", {{"column", item_list}, {"op", ">="}, {"value", min_length}}}});
  json split_json = split.to_json();
  json events = {{"session", c.session}, {"item", c.item}, {"timestamp", ts}};
  if (!c.order.empty()) events["order"] = c.order;
  return {{"input",
           {{"format", "csv"},
            {"delimiter", delimiter == 0 ? std::string("auto") : std::string(1, delimiter)},
            {"on_bad_row", choice_name(bad_row_policies(), on_bad_row)},
            {"columns", input_columns}}},
          {"steps", steps},
          {"output", {{"session_id", c.session}, {"item", item_list}, {"timestamp", ts_list}, {"time", ts + "-first"}}},
          {"split", split_json},
          {"events", events}};
}

}  // namespace seqrec::etl
