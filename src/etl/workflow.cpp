// The workflow at work: fitting its statistics over partitions and transforming frames (batch partitions and live
// requests alike) into sessions and their schema.
#include "seqrec/etl/workflow.h"

#include <algorithm>
#include <set>

#include "etl/ops/op_util.h"
#include "seqrec/common/error.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
int64_t to_day(int64_t ms) { return detail::floor_div(ms, kMillisPerDay); }
}  // namespace

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

}  // namespace seqrec::etl
