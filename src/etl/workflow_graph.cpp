// The workflow as a graph: a workflow file (or the etl flags) read into its op chain, groups resolved, columns traced
// through the steps so that a typo is found before any data is read, and the raw columns' event roles remembered.
#include "seqrec/etl/workflow.h"

#include <algorithm>
#include <set>

#include "etl/ops/op_util.h"
#include "seqrec/common/config_file.h"
#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
/// Replaces "@group" references in a step's "columns" with the group's columns.
json resolve_groups(const json& step, const json& groups, const std::string& label) {
  json out = step;
  if (!out.contains("columns")) return out;
  auto expand = [&](const std::string& name, json& into) {
    if (name.empty() || name[0] != '@') {
      into.push_back(name);
      return;
    }
    const std::string g = name.substr(1);
    SEQREC_CHECK(groups.contains(g), label, ": unknown column group '", name, "' (groups: ",
                 groups.empty() ? std::string("none") : groups.dump(), ")");
    for (const auto& c : groups.at(g)) into.push_back(c);
  };
  json cols = json::array();
  if (out["columns"].is_string()) expand(out["columns"].get<std::string>(), cols);
  else if (out["columns"].is_array())
    for (const auto& c : out["columns"]) {
      if (c.is_string()) expand(c.get<std::string>(), cols);
      else cols.push_back(c);
    }
  else return out;
  out["columns"] = cols;
  return out;
}

}  // namespace

Workflow Workflow::from_spec(const json& spec, const std::string& origin) {
  Workflow w;
  w.build(spec, origin);
  return w;
}

Workflow Workflow::from_file(const std::filesystem::path& path) {
  return from_spec(read_config_file(path), path.string());
}

Workflow Workflow::from_options(const WorkflowOptions& options) {
  auto problems = options.problems();
  if (!problems.empty()) {
    std::string msg = "invalid ETL options:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
  Workflow w = from_spec(options.to_spec(), "the etl flags");
  w.options_ = options;
  return w;
}

namespace {

[[noreturn]] void throw_problems(const std::string& origin, const std::vector<std::string>& problems) {
  std::string msg = origin + ": invalid workflow:";
  for (const auto& p : problems) msg += "\n  - " + p;
  throw InvalidInput(msg);
}

/// Unknown top-level keys are problems; a missing input, steps or output ends the reading at once.
std::vector<std::string> top_level_problems(const json& spec, const std::string& origin) {
  SEQREC_CHECK(spec.is_object(), origin, ": a workflow file is a JSON object with input, steps, output and split");
  static const std::vector<std::string> known = {"input", "groups", "steps", "output", "split", "events", "description", "format"};
  std::vector<std::string> problems;
  for (auto it = spec.begin(); it != spec.end(); ++it)
    if (std::find(known.begin(), known.end(), it.key()) == known.end())
      problems.push_back(unknown_key_message("", it.key(), it.key(), known));
  bool missing = false;
  for (const char* required : {"input", "steps", "output"})
    if (!spec.contains(required)) problems.push_back(std::string("missing \"") + required + "\""), missing = true;
  if (missing) throw_problems(origin, problems);
  return problems;
}

/// The steps with every chain expanded into one step per op (a chain's columns go to ops that name none).
std::vector<json> flat_steps(const json& spec, const std::string& origin) {
  SEQREC_CHECK(spec.at("steps").is_array(), origin, ": \"steps\" must be a list");
  std::vector<json> flat;
  for (const auto& step : spec.at("steps")) {
    if (!(step.is_object() && step.contains("chain"))) {
      flat.push_back(step);
      continue;
    }
    for (const auto& op : step.at("chain")) {
      json one = op;
      if (step.contains("columns") && !one.contains("columns")) one["columns"] = step.at("columns");
      flat.push_back(one);
    }
  }
  return flat;
}

std::string joined(const std::set<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}
}  // namespace

void Workflow::build(const json& spec, const std::string& origin) {
  std::vector<std::string> problems = top_level_problems(spec, origin);
  spec_ = spec;
  input_ = InputSpec::from_json(spec.at("input"), origin);
  try {
    split_ = spec.contains("split") ? SplitOptions::from_json(spec.at("split"), origin) : SplitOptions{};
  } catch (const InvalidInput& e) {
    problems.push_back(e.what());
  }
  for (auto& p : split_.problems()) problems.push_back(p);
  const bool steps_ok = make_steps(spec, origin, problems);
  if (steps_ok) read_output(spec.at("output"), trace_columns(problems), problems);
  if (!problems.empty()) throw_problems(origin, problems);
  remember_event_roles(spec.value("events", json::object()));
}

bool Workflow::make_steps(const json& spec, const std::string& origin, std::vector<std::string>& problems) {
  // Groups resolve; each op checks its own options.
  const json groups = spec.value("groups", json::object());
  const std::vector<json> flat = flat_steps(spec, origin);
  steps_.clear();
  for (size_t i = 0; i < flat.size(); ++i) {
    std::string label = "step " + std::to_string(i + 1) + " (" +
                        (flat[i].is_object() ? flat[i].value("op", std::string("?")) : std::string("?")) + ")";
    try {
      steps_.push_back(std::shared_ptr<Op>(make_op(resolve_groups(flat[i], groups, label), label)));
    } catch (const InvalidInput& e) {
      problems.push_back(e.what());
    }
  }
  return steps_.size() == flat.size();
}

std::set<std::string> Workflow::trace_columns(std::vector<std::string>& problems) {
  // Follow the column names through the steps so a typo is found before any data is read.
  std::set<std::string> have;
  for (const auto& c : input_.columns) have.insert(c.name);
  int groupbys = 0;
  for (const auto& op : steps_) {
    for (const auto& in : op->inputs())
      if (!have.count(in) && !op->inputs_may_be_absent())
        problems.push_back(op->label() + ": no column '" + in + "' at this step (there are: " + joined(have) + ")");
    if (const std::string* key = detail::groupby_key(*op)) {
      ++groupbys;
      group_key_ = *key;
      if (!input_.find(*key))
        problems.push_back(op->label() + ": the Groupby key '" + *key + "' must be a raw input column (batch files are partitioned by it)");
    }
    have = op->columns_after(std::move(have));
  }
  if (groupbys != 1) problems.push_back("the steps need exactly one Groupby (events -> sessions), found " + std::to_string(groupbys));
  return have;
}

std::set<std::string> Workflow::raw_inputs_of(const std::vector<std::string>& outputs) const {
  std::set<std::string> needed(outputs.begin(), outputs.end());
  for (auto op = steps_.rbegin(); op != steps_.rend(); ++op) {
    const auto made = (*op)->outputs();
    if (std::any_of(made.begin(), made.end(), [&](const std::string& c) { return needed.count(c) > 0; }))
      for (const auto& in : (*op)->inputs()) needed.insert(in);
  }
  std::set<std::string> raw;
  for (const auto& c : input_.columns)
    if (needed.count(c.name)) raw.insert(c.name);
  return raw;
}

void Workflow::read_output(const json& out, const std::set<std::string>& have, std::vector<std::string>& problems) {
  out_session_ = out.value("session_id", group_key_);
  out_item_ = out.value("item", std::string());
  out_timestamp_ = out.value("timestamp", std::string());
  out_time_ = out.value("time", std::string());
  for (auto it = out.begin(); it != out.end(); ++it)
    if (it.key() != "session_id" && it.key() != "item" && it.key() != "timestamp" && it.key() != "time")
      problems.push_back("unknown output key '" + it.key() + "' (output takes session_id, item, timestamp, time)");
  if (out_item_.empty()) problems.push_back("output.item must name the list column of item ids (e.g. \"item_id-list\")");
  for (const auto& [key, name] : {std::pair<std::string, std::string>{"session_id", out_session_}, {"item", out_item_},
                                  {"timestamp", out_timestamp_}, {"time", out_time_}})
    if (!name.empty() && !have.count(name)) problems.push_back("output." + key + ": no column '" + name + "' after the last step");
}

void Workflow::remember_event_roles(const json& events) {
  // Which raw columns are the session, the item, the timestamp and the click order (Event records, requests).
  options_ = WorkflowOptions{};
  options_.columns.session = events.value("session", group_key_);
  options_.columns.item = events.value("item", std::string("item_id"));
  options_.columns.timestamp = events.value("timestamp", std::string("timestamp"));
  options_.columns.order = events.value("order", std::string());
  if (const InputColumn* ts = input_.find(options_.columns.timestamp)) options_.columns.timestamp_format = ts->format;
  options_.on_bad_row = input_.on_bad_row;
  options_.delimiter = input_.delimiter;
  options_.split = split_;
}

}  // namespace seqrec::etl
