// The workflow engine: builds the op chain from a workflow file, fits it over partitions, and transforms
// frames (batch partitions and live requests alike) into sessions.
#include "seqrec/etl/workflow.h"

#include <algorithm>
#include <set>

#include "etl/ops/op_util.h"
#include "seqrec/common/config_file.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/options_reader.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
constexpr int kWorkflowVersion = 2;

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

int64_t to_day(int64_t ms) { return detail::floor_div(ms, kMillisPerDay); }
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

bool Workflow::fitted() const {
  if (steps_.empty()) return false;
  return std::all_of(steps_.begin(), steps_.end(), [](const auto& op) { return op->fitted(); });
}

const Vocabulary& Workflow::items() const {
  static const Vocabulary kEmpty;
  const Vocabulary* found = nullptr;
  for (const auto& op : steps_) {
    if (const Vocabulary* v = detail::categorify_vocabulary(*op, options_.columns.item)) return *v;
    for (const auto& o : op->outputs())
      if (!found && out_item_.rfind(o, 0) == 0)
        if (const Vocabulary* v = detail::categorify_vocabulary(*op, o)) found = v;
  }
  return found ? *found : kEmpty;
}

Frame Workflow::transform_to_frame(Frame frame, bool online, StepCounts* counts) const {
  SEQREC_CHECK(fitted(), "the workflow is not fitted yet: run seqrec etl fit (or run) first");
  if (counts) counts->removed.assign(steps_.size(), 0);
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Op& op = *steps_[i];
    if (online && !op.online()) continue;
    const int64_t removed = op.transform(frame);
    if (counts) {
      counts->removed[i] += removed;
      if (detail::groupby_key(op)) counts->sessions += frame.rows();
    }
  }
  return frame;
}

Frame Workflow::output_columns() const { return transform_to_frame(empty_input_frame(input_), /*online=*/false); }

SessionTable Workflow::to_sessions(Frame& frame, std::vector<int64_t>* start_ms) const {
  SessionTable t;
  const int64_t rows = frame.rows();
  const Column& sid = frame.at(out_session_, "output.session_id");
  SEQREC_CHECK(!sid.is_list, "output.session_id: column '", out_session_, "' is a list; it must hold one id per session");
  t.session_ids.reserve(rows);
  for (int64_t r = 0; r < rows; ++r) t.session_ids.push_back(sid.dtype == DType::kString ? sid.strings[r] : sid.text(r));
  const Column& item = frame.at(out_item_, "output.item");
  SEQREC_CHECK(item.is_list && item.is_int(), "output.item: column '", out_item_,
               "' must be a list of integer ids (Categorify the item column, then Groupby with \"list\")");
  t.offsets = item.offsets;
  t.items = item.ints;
  for (size_t i = 0; i < item.nulls.size(); ++i)
    if (item.nulls[i]) t.items[i] = kPaddingId;
  t.item_cardinality = item.cardinality;
  if (!out_timestamp_.empty()) {
    const Column& ts = frame.at(out_timestamp_, "output.timestamp");
    SEQREC_CHECK(ts.is_list && ts.is_int() && ts.offsets == item.offsets, "output.timestamp: column '", out_timestamp_,
                 "' must be a list of timestamps aligned with '", out_item_, "' (slice both alike)");
    t.timestamps = ts.ints;
  } else {
    t.timestamps.assign(t.items.size(), 0);
  }
  t.days.resize(rows);
  const Column* time = out_time_.empty() ? nullptr : &frame.at(out_time_, "output.time");
  SEQREC_CHECK(!time || (!time->is_list && time->is_int()), "output.time: column '", out_time_,
               "' must hold one timestamp per session (e.g. Groupby's \"first\" of the timestamp)");
  for (int64_t r = 0; r < rows; ++r) {
    int64_t ms = 0;
    if (time && !time->is_null(r)) ms = time->ints[r];
    else if (t.length(r) > 0) ms = t.timestamps[t.offsets[r]];
    t.days[r] = to_day(ms);
    if (start_ms) start_ms->push_back(ms);
  }
  for (auto& c : frame.columns) {
    if (c.name == out_session_ || c.name == out_item_ || c.name == out_timestamp_ || c.name == out_time_) continue;
    SEQREC_CHECK(c.dtype != DType::kString, "column '", c.name,
                 "' still holds text after the last step; Categorify or HashBucket it, or Drop it");
    SessionTable::Column e;
    e.name = c.name;
    e.is_list = c.is_list;
    e.offsets = c.offsets;
    e.tags = c.tags;
    e.cardinality = c.cardinality;
    // Nulls left at the end are written as 0 (FillMissing chooses another value).
    if (c.dtype == DType::kFloat64) {
      e.dtype = "float32";
      e.floats.resize(c.floats.size());
      for (size_t i = 0; i < c.floats.size(); ++i) e.floats[i] = c.is_null(i) ? 0.0f : static_cast<float>(c.floats[i]);
    } else {
      e.dtype = "int64";
      e.ints = std::move(c.ints);
      for (size_t i = 0; i < c.nulls.size(); ++i)
        if (c.nulls[i]) e.ints[i] = 0;
    }
    t.columns.push_back(std::move(e));
  }
  return t;
}

SessionTable Workflow::transform_frame(Frame raw) const {
  Frame out = transform_to_frame(std::move(raw), /*online=*/true);
  return to_sessions(out);
}

Frame Workflow::raw_frame(const std::vector<std::pair<std::string, std::vector<std::string>>>& columns) const {
  int64_t rows = -1;
  for (const auto& [name, values] : columns) {
    SEQREC_CHECK(input_.find(name) != nullptr, "request column '", name, "' is not an input of the workflow");
    SEQREC_CHECK(rows < 0 || rows == static_cast<int64_t>(values.size()), "request column '", name, "' has ", values.size(),
                 " values, the others ", rows);
    rows = static_cast<int64_t>(values.size());
  }
  Frame f = empty_input_frame(input_);
  for (size_t k = 0; k < input_.columns.size(); ++k) {
    const InputColumn& spec = input_.columns[k];
    auto it = std::find_if(columns.begin(), columns.end(), [&](const auto& c) { return c.first == spec.name; });
    std::string problem;
    for (int64_t r = 0; r < std::max<int64_t>(rows, 0); ++r) {
      std::string_view text = it == columns.end() ? std::string_view() : std::string_view(it->second[r]);
      InputColumn lenient = spec;
      lenient.required = false;
      SEQREC_CHECK(append_text_value(text, it == columns.end() ? lenient : spec, f.columns[k], &problem), "request column '",
                   spec.name, "' value ", r, ": ", problem);
    }
  }
  return f;
}

Frame Workflow::events_frame(const std::vector<Event>& events) const {
  const auto& c = options_.columns;
  std::vector<std::pair<std::string, std::vector<std::string>>> text;
  std::vector<std::string> sessions, items, orders;
  for (const auto& e : events) {
    sessions.push_back(e.session);
    items.push_back(e.item);
    orders.push_back(std::to_string(e.order));
  }
  text.emplace_back(c.session, std::move(sessions));
  if (input_.find(c.item)) text.emplace_back(c.item, std::move(items));
  if (!c.order.empty() && input_.find(c.order)) text.emplace_back(c.order, std::move(orders));
  Frame f = raw_frame(text);
  // The timestamp goes in as milliseconds whatever the file's column looked like (it may be made from parts).
  Column ts(c.timestamp, DType::kTimestamp);
  ts.add_tag("time");
  for (const auto& e : events) ts.ints.push_back(e.timestamp_ms);
  f.set(std::move(ts));
  return f;
}

SessionTable Workflow::transform_events(std::vector<Event> events) const { return transform_frame(events_frame(events)); }

void Workflow::fit_frame(Frame raw) {
  fit_frames([&](const std::set<std::string>&, const std::function<void(Frame&&)>& consume) { consume(std::move(raw)); });
}

InputSpec Workflow::request_input(const RequestNames& names) const {
  const auto& c = options_.columns;
  const bool has_timestamp = input_.find(c.timestamp) != nullptr;
  if (!names.timestamp.empty() && !has_timestamp) {
    std::string inputs;
    for (const auto& column : input_.columns) inputs += (inputs.empty() ? "'" : ", '") + column.name + "'";
    throw InvalidInput("the workflow makes its timestamp from its input columns (" + inputs +
                       "): a request gives those, not a timestamp column '" + names.timestamp + "'");
  }
  InputSpec request = input_;
  request.on_bad_row = BadRowPolicy::kError;  // a request's bad row is the caller's to fix, never dropped
  request.format = InputFormat::kAuto;        // from the request file's extension
  request.delimiter = 0;         // from its header
  for (auto& column : request.columns) {
    // The names given first, then the Merlin names; a request's own columns keep their raw names.
    auto alias = [&](const std::string& role, const std::string& given, const std::string& merlin) {
      if (column.name != role) return;
      if (!given.empty()) column.aliases.push_back(given);
      if (merlin != column.name) column.aliases.push_back(merlin);
    };
    alias(c.session, names.session, "session_id");
    alias(c.item, names.item, "item_id");
    if (has_timestamp) alias(c.timestamp, names.timestamp, "timestamp");
  }
  return request;
}

SessionTable Workflow::transform_file(const std::string& path, const InputSpec& request, ReadStats& stats) const {
  Frame raw = empty_input_frame(request);
  ReaderOptions reader;
  reader.threads = threads_;
  read_frames(path, request, reader, stats, [&](Frame&& chunk) { raw.append(chunk); });
  return transform_frame(std::move(raw));
}

schema::Schema Workflow::output_schema(int64_t max_observed_length) const {
  return output_schema(std::map<std::string, std::pair<int64_t, int64_t>>{{"item_id", {1, std::max<int64_t>(1, max_observed_length)}}});
}

schema::Schema Workflow::output_schema(const std::map<std::string, std::pair<int64_t, int64_t>>& lengths) const {
  Frame cols = output_columns();
  auto length_of = [&](const std::string& name) {
    auto it = lengths.find(name);
    return it == lengths.end() ? std::make_pair<int64_t, int64_t>(0, 0) : it->second;
  };
  schema::Schema s;
  s.columns.push_back({"session_id", "string", false, {"session", "id"}});
  const Column& item_col = cols.at(out_item_);
  schema::ColumnSchema item{"item_id", "int64", true, {"item", "id", "categorical", "list", "target"}};
  for (const auto& t : item_col.tags)
    if (std::find(item.tags.begin(), item.tags.end(), t) == item.tags.end()) item.tags.push_back(t);
  item.cardinality = item_col.cardinality;
  item.first_value_id = items().first_value_id();  // past the hashed-OOV buckets, if Categorify has any
  std::tie(item.min_length, item.max_length) = length_of("item_id");
  s.columns.push_back(item);
  schema::ColumnSchema ts{"timestamp", "int64", true, {"time", "list"}};
  ts.min_length = item.min_length;
  ts.max_length = item.max_length;
  s.columns.push_back(ts);
  s.columns.push_back({"day", "int64", false, {"time"}});
  for (const auto& c : cols.columns) {
    if (c.name == out_session_ || c.name == out_item_ || c.name == out_timestamp_ || c.name == out_time_) continue;
    schema::ColumnSchema e{c.name, c.dtype == DType::kFloat64 ? "float32" : "int64", c.is_list, c.tags};
    if (c.is_list && !c.has_tag("list")) e.tags.push_back("list");
    if (c.dtype == DType::kFloat64 && !c.has_tag("continuous")) e.tags.push_back("continuous");
    e.cardinality = c.cardinality;
    if (c.is_list) std::tie(e.min_length, e.max_length) = length_of(c.name);
    s.columns.push_back(e);
  }
  return s;
}

void Workflow::fit_frames(const PartitionSource& for_each_partition) {
  // Each pass feeds the unfitted ops whose inputs are already final; an op that reads the output of one
  // still being fitted waits for the next pass. Typical session pipelines fit in one or two passes.
  for (int pass = 0; !fitted(); ++pass) {
    std::vector<bool> fed(steps_.size(), false);
    // Backwards: which fitted steps this pass must run (they make what an unfitted step reads, or decide
    // its rows), and so which raw columns it must load. The others wait for the transform.
    std::vector<bool> run(steps_.size(), false);
    std::set<std::string> needed;
    bool rows_matter = false;
    size_t last = 0;
    for (size_t i = steps_.size(); i-- > 0;) {
      const Op& op = *steps_[i];
      const bool changes_rows = !op.row_inputs().empty() || detail::groupby_key(op) != nullptr;
      const auto outs = op.outputs();
      const bool writes_needed = std::any_of(outs.begin(), outs.end(), [&](const std::string& o) { return needed.count(o) > 0; });
      if (!op.fitted() || writes_needed || (changes_rows && rows_matter)) {
        run[i] = true;
        last = std::max(last, i);
        for (const auto& in : op.inputs()) needed.insert(in);
        rows_matter = true;
      }
    }
    for_each_partition(needed, [&](Frame&& frame) {
      std::set<std::string> tainted;
      auto dirty = [&](const std::vector<std::string>& cols) {
        return std::any_of(cols.begin(), cols.end(), [&](const std::string& c) { return tainted.count(c) > 0; });
      };
      for (size_t i = 0; i <= last; ++i) {
        if (!run[i]) continue;
        Op& op = *steps_[i];
        const bool changes_rows = !op.row_inputs().empty() || detail::groupby_key(op) != nullptr;
        if (!op.fitted()) {
          if (!dirty(op.inputs())) {
            op.fit(frame);
            fed[i] = true;
          }
          for (const auto& o : op.outputs()) tainted.insert(o);
          continue;
        }
        if (dirty(op.inputs())) {
          if (changes_rows) break;  // which rows survive depends on values not known yet
          for (const auto& o : op.outputs()) tainted.insert(o);
          continue;
        }
        op.transform(frame);
      }
    });
    bool any = false;
    for (size_t i = 0; i < steps_.size(); ++i)
      if (fed[i]) steps_[i]->finish_fit(), any = true;
    if (!any) {
      // No data at all still freezes the statistics (empty vocabularies), so the workflow can be saved.
      for (auto& op : steps_)
        if (!op->fitted()) op->finish_fit();
    }
  }
}

json Workflow::describe() const {
  json steps = json::array();
  for (const auto& op : steps_)
    steps.push_back({{"step", op->label()},
                     {"op", op->name()},
                     {"inputs", op->inputs()},
                     {"outputs", op->outputs()},
                     {"fitted", op->fitted()},
                     {"online", op->online()},
                     {"statistics", op->fitted() ? op->describe() : json(nullptr)}});
  json columns = json::array();
  if (fitted())
    for (const auto& c : output_columns().columns)
      columns.push_back({{"name", c.name}, {"dtype", to_string(c.dtype)}, {"is_list", c.is_list}, {"tags", c.tags},
                         {"cardinality", c.cardinality}});
  return {{"input", input_.to_json()},
          {"steps", steps},
          {"output", spec_.value("output", json::object())},
          {"output_columns", columns},
          {"split", split_.to_json()},
          {"item_vocabulary", {{"values", items().size()}, {"cardinality", items().cardinality()}}},
          {"summary", summary_}};
}

void Workflow::save(const std::filesystem::path& dir, const json& summary) const {
  SEQREC_CHECK(fitted(), "cannot save a workflow that is not fitted");
  write_directory_atomic(dir, [&](const std::filesystem::path& tmp) {
    json state = json::array();
    for (const auto& op : steps_) state.push_back(op->save_state(tmp));
    json j = {{"format", "seqrec-workflow"},
              {"version", kWorkflowVersion},
              {"spec", spec_},
              {"state", state},
              {"options", options_.to_json()},
              {"vocabularies", {{"item_id", {{"values", items().size()}, {"cardinality", items().cardinality()}}}}},
              {"summary", summary}};
    write_text_file_atomic(tmp / "workflow.json", j.dump(2) + "\n");
  });
}

Workflow Workflow::load(const std::filesystem::path& dir) {
  auto path = dir / "workflow.json";
  SEQREC_CHECK(std::filesystem::exists(path), "'", dir.string(), "' is not a fitted workflow (no workflow.json); run seqrec etl");
  Workflow w;
  try {
    json j = json::parse(read_text_file(path));
    SEQREC_CHECK(j.value("format", "") == "seqrec-workflow", path.string(), ": not a seqrec workflow");
    const int version = j.value("version", 0);
    SEQREC_CHECK(version <= kWorkflowVersion, path.string(), ": workflow version ", version,
                 " is newer than this seqrec reads (", kWorkflowVersion, "); upgrade seqrec");
    if (version < 2) {
      // Version 1 held the flag options and the item vocabulary only.
      WorkflowOptions options = WorkflowOptions::from_json(j.at("options"));
      w = from_options(options);
      for (auto& op : w.steps_)
        if (op->name() == "Categorify") op->load_state({{"vocabularies", json::array({{{"file", "item_id.vocab.tsv"}}})}}, dir);
      for (auto& op : w.steps_)
        if (!op->fitted()) op->finish_fit();
    } else {
      w.build(j.at("spec"), path.string());
      if (j.contains("options")) {
        WorkflowOptions o = WorkflowOptions::from_json(j.at("options"));
        w.options_ = o;
      }
      const json& state = j.at("state");
      SEQREC_CHECK(state.size() == w.steps_.size(), path.string(), ": ", state.size(), " step states for ", w.steps_.size(), " steps");
      for (size_t i = 0; i < w.steps_.size(); ++i)
        if (w.steps_[i]->stateful()) w.steps_[i]->load_state(state[i], dir);
    }
    w.summary_ = j.value("summary", json::object());
  } catch (const json::exception& e) {
    throw InvalidInput(path.string() + ": damaged workflow: " + e.what());
  }
  return w;
}

}  // namespace seqrec::etl
