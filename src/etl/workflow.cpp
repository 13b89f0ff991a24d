#include "seqrec/etl/workflow.h"

#include <algorithm>
#include <charconv>
#include <iostream>
#include <numeric>
#include <random>
#include <set>
#include <unordered_map>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/delimited_reader.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {
constexpr int kWorkflowVersion = 1;
constexpr size_t kMaxReasonsKept = 5;

std::string row_excerpt(std::string_view text) {
  return text.size() > 200 ? std::string(text.substr(0, 200)) + "..." : std::string(text);
}

bool parse_int(const std::string& s, int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}
}  // namespace

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
          {"on_bad_row", on_bad_row},
          {"split",
           {{"method", split.method},
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
  o.on_bad_row = j.at("on_bad_row");
  const auto& s = j.at("split");
  o.split.method = s.at("method");
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
  if (on_bad_row != "error" && on_bad_row != "skip") p.push_back("--on-bad-row must be error or skip, got '" + on_bad_row + "'");
  if (split.method == "time") {
    if (split.valid_days < 0 || split.test_days < 1) p.push_back("--valid-days must be >= 0 and --test-days >= 1");
  } else if (split.method == "random") {
    if (split.valid_fraction < 0 || split.test_fraction <= 0 || split.valid_fraction + split.test_fraction >= 1)
      p.push_back("--valid-fraction and --test-fraction must be >= 0, test > 0, and sum to less than 1");
  } else {
    p.push_back("--split must be time or random, got '" + split.method + "'");
  }
  return p;
}

std::vector<Event> read_events(const std::string& path, const WorkflowOptions& options, ReadStats& stats) {
  DelimitedReader reader(path, options.delimiter);
  const auto& cols = options.columns;
  const int session_col = reader.column_index(cols.session);
  const int item_col = reader.column_index(cols.item);
  const bool use_dates = !cols.date_parts.empty();
  int ts_col = -1;
  std::vector<int> date_cols;
  if (use_dates) {
    for (const auto& name : cols.date_parts) date_cols.push_back(reader.column_index(name));
  } else {
    ts_col = reader.column_index(cols.timestamp);
  }
  const int order_col = cols.order.empty() ? -1 : reader.column_index(cols.order);
  const size_t width = reader.header().size();

  std::vector<Event> events;
  std::vector<std::string> fields;
  const int64_t position_base = stats.rows_read;
  while (reader.next(fields)) {
    ++stats.rows_read;
    std::string problem;
    auto where = [&](int col) {
      return path + ":" + std::to_string(reader.line_number()) + ":" + std::to_string(col + 1) + " (column '" +
             reader.header()[col] + "')";
    };
    Event e;
    if (fields.size() != width) {
      problem = path + ":" + std::to_string(reader.line_number()) + ": expected " + std::to_string(width) + " " +
                delimiter_name(reader.delimiter()) + "-separated fields as in the header, found " + std::to_string(fields.size());
    } else if (fields[session_col].empty()) {
      problem = where(session_col) + ": empty session id";
    } else {
      e.session = fields[session_col];
      e.item = fields[item_col];
      e.order = stats.rows_read - position_base;
      if (order_col >= 0 && !parse_int(fields[order_col], e.order))
        problem = where(order_col) + ": order '" + fields[order_col] + "' is not an integer";
      if (problem.empty() && use_dates) {
        int64_t ymd[3];
        for (int k = 0; k < 3 && problem.empty(); ++k)
          if (!parse_int(fields[date_cols[k]], ymd[k])) problem = where(date_cols[k]) + ": '" + fields[date_cols[k]] + "' is not an integer";
        if (problem.empty() && (ymd[1] < 1 || ymd[1] > 12 || ymd[2] < 1 || ymd[2] > 31))
          problem = where(date_cols[1]) + ": not a valid month/day: " + std::to_string(ymd[1]) + "/" + std::to_string(ymd[2]);
        if (problem.empty())
          e.timestamp_ms = days_from_civil(ymd[0], static_cast<unsigned>(ymd[1]), static_cast<unsigned>(ymd[2])) * kMillisPerDay +
                           (order_col >= 0 ? e.order * 1000 : 0);
      } else if (problem.empty()) {
        auto ts = parse_timestamp_ms(fields[ts_col], cols.timestamp_format);
        if (!ts)
          problem = where(ts_col) + ": cannot parse '" + fields[ts_col] + "' as a timestamp (format " +
                    to_string(cols.timestamp_format) + ": epoch seconds, milliseconds or ISO-8601)";
        else
          e.timestamp_ms = *ts;
      }
    }
    if (!problem.empty()) {
      if (options.on_bad_row != "skip")
        throw InvalidInput(problem + "; row: '" + row_excerpt(reader.line_text()) +
                           "' (use --on-bad-row=skip to count and skip bad rows)");
      ++stats.rows_skipped;
      if (stats.first_skip_reasons.size() < kMaxReasonsKept) stats.first_skip_reasons.push_back(problem);
      continue;
    }
    events.push_back(std::move(e));
  }
  return events;
}

std::vector<RawSession> group_sessions(std::vector<Event> events, bool drop_repeats, int64_t* repeats_dropped) {
  std::unordered_map<std::string, size_t> index;
  std::vector<std::vector<Event>> groups;
  for (auto& e : events) {
    auto [it, inserted] = index.emplace(e.session, groups.size());
    if (inserted) groups.emplace_back();
    groups[it->second].push_back(std::move(e));
  }
  std::vector<RawSession> sessions;
  sessions.reserve(groups.size());
  int64_t dropped = 0;
  for (auto& g : groups) {
    std::stable_sort(g.begin(), g.end(), [](const Event& a, const Event& b) {
      return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.order < b.order;
    });
    RawSession s;
    s.id = g.front().session;
    for (auto& e : g) {
      if (drop_repeats && !s.items.empty() && s.items.back() == e.item) {
        ++dropped;
        continue;
      }
      s.items.push_back(std::move(e.item));
      s.timestamps.push_back(e.timestamp_ms);
    }
    sessions.push_back(std::move(s));
  }
  if (repeats_dropped) *repeats_dropped += dropped;
  return sessions;
}

Workflow Workflow::fit(const std::vector<RawSession>& train, const WorkflowOptions& options) {
  Workflow w;
  w.options_ = options;
  for (const auto& s : train)
    for (const auto& item : s.items) w.items_.count(item);
  w.items_.finalize(options.min_item_frequency);
  return w;
}

SessionTable Workflow::transform(const std::vector<RawSession>& sessions, bool filter_short, int64_t* removed_short) const {
  SessionTable table;
  std::vector<int64_t> ids, times;
  for (const auto& s : sessions) {
    const size_t n = s.items.size();
    const size_t keep = std::min(n, static_cast<size_t>(options_.max_length));
    if (filter_short && static_cast<int64_t>(keep) < options_.min_length) {
      if (removed_short) ++*removed_short;
      continue;
    }
    ids.clear();
    times.clear();
    for (size_t i = n - keep; i < n; ++i) {
      ids.push_back(items_.encode(s.items[i]));
      times.push_back(s.timestamps[i]);
    }
    table.append(s.id, ids, times);
  }
  return table;
}

SessionTable Workflow::transform_events(std::vector<Event> events) const {
  return transform(group_sessions(std::move(events), options_.drop_repeats), /*filter_short=*/false);
}

schema::Schema Workflow::output_schema(int64_t max_observed_length) const {
  schema::Schema s;
  s.columns.push_back({"session_id", "string", false, {"session", "id"}});
  schema::ColumnSchema item{"item_id", "int64", true, {"item", "id", "categorical", "list", "target"}};
  item.cardinality = items_.cardinality();
  item.min_length = 1;
  item.max_length = std::max<int64_t>(1, max_observed_length);
  s.columns.push_back(item);
  schema::ColumnSchema ts{"timestamp", "int64", true, {"time", "list"}};
  ts.min_length = item.min_length;
  ts.max_length = item.max_length;
  s.columns.push_back(ts);
  s.columns.push_back({"day", "int64", false, {"time"}});
  return s;
}

void Workflow::save(const std::filesystem::path& dir, const json& summary) const {
  write_directory_atomic(dir, [&](const std::filesystem::path& tmp) {
    json j = {{"format", "seqrec-workflow"},
              {"version", kWorkflowVersion},
              {"options", options_.to_json()},
              {"vocabularies", {{"item_id", {{"file", "item_id.vocab.tsv"}, {"cardinality", items_.cardinality()}}}}},
              {"summary", summary}};
    items_.save(tmp / "item_id.vocab.tsv");
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
    SEQREC_CHECK(j.value("version", 0) <= kWorkflowVersion, path.string(), ": workflow version ", j.value("version", 0),
                 " is newer than this seqrec reads (", kWorkflowVersion, "); upgrade seqrec");
    w.options_ = WorkflowOptions::from_json(j.at("options"));
  } catch (const json::exception& e) {
    throw InvalidInput(path.string() + ": damaged workflow: " + e.what());
  }
  w.items_ = Vocabulary::load(dir / "item_id.vocab.tsv");
  return w;
}

json EtlSummary::to_json() const {
  return {{"rows_read", read.rows_read},
          {"rows_skipped", read.rows_skipped},
          {"skip_reasons", read.first_skip_reasons},
          {"repeats_dropped", repeats_dropped},
          {"sessions", sessions},
          {"removed_short_sessions", removed_short},
          {"sessions_per_split", {{"train", train}, {"valid", valid}, {"test", test}}},
          {"item_vocabulary_size", vocabulary_size}};
}

namespace {

enum Split { kTrain = 0, kValid = 1, kTest = 2 };

std::vector<int> assign_splits(const std::vector<RawSession>& sessions, const SplitOptions& o) {
  std::vector<int> split(sessions.size(), kTrain);
  if (o.method == "random") {
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (auto& s : split) {
      double r = u(rng);
      s = r < o.test_fraction ? kTest : r < o.test_fraction + o.valid_fraction ? kValid : kTrain;
    }
    return split;
  }
  std::set<int64_t> days;
  auto day_of = [](const RawSession& s) { return s.timestamps.front() / kMillisPerDay; };
  for (const auto& s : sessions) days.insert(day_of(s));
  const int64_t needed = o.valid_days + o.test_days + 1;
  SEQREC_CHECK(static_cast<int64_t>(days.size()) >= needed, "time split needs at least ", needed, " distinct days (",
               o.valid_days, " valid + ", o.test_days, " test + 1 train) but the data spans ", days.size(),
               "; lower --valid-days/--test-days or use --split random");
  std::vector<int64_t> sorted(days.begin(), days.end());
  const int64_t test_from = sorted[sorted.size() - o.test_days];
  const int64_t valid_from = sorted[sorted.size() - o.test_days - o.valid_days];
  for (size_t i = 0; i < sessions.size(); ++i) {
    int64_t d = day_of(sessions[i]);
    split[i] = d >= test_from ? kTest : d >= valid_from ? kValid : kTrain;
  }
  return split;
}

}  // namespace

EtlSummary run_etl(const std::vector<std::string>& inputs, const WorkflowOptions& options, const std::filesystem::path& out) {
  auto problems = options.problems();
  if (!problems.empty()) {
    std::string msg = "invalid ETL options:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
  SEQREC_CHECK(!inputs.empty(), "no input files: give --input FILE (repeatable)");
  EtlSummary summary;
  std::vector<Event> events;
  for (const auto& path : inputs) {
    auto part = read_events(path, options, summary.read);
    events.insert(events.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  SEQREC_CHECK(!events.empty(), "no events read from ", inputs.front(), inputs.size() > 1 ? " and the other inputs" : "",
               ": the files hold a header only");
  auto sessions = group_sessions(std::move(events), options.drop_repeats, &summary.repeats_dropped);
  summary.sessions = static_cast<int64_t>(sessions.size());
  auto split = assign_splits(sessions, options.split);

  std::vector<RawSession> parts[3];
  for (size_t i = 0; i < sessions.size(); ++i) parts[split[i]].push_back(std::move(sessions[i]));
  Workflow workflow = Workflow::fit(parts[kTrain], options);
  summary.vocabulary_size = workflow.items().size();

  SessionTable tables[3];
  int64_t max_len = 0;
  for (int k = 0; k < 3; ++k) {
    tables[k] = workflow.transform(parts[k], /*filter_short=*/true, &summary.removed_short);
    for (int64_t r = 0; r < tables[k].size(); ++r) max_len = std::max(max_len, tables[k].length(r));
  }
  summary.train = tables[kTrain].size();
  summary.valid = tables[kValid].size();
  summary.test = tables[kTest].size();
  SEQREC_CHECK(summary.train > 0, "no training sessions after filtering (", summary.sessions,
               " sessions read); check --min-length and the split options");
  SEQREC_CHECK(summary.test > 0, "no test sessions after filtering; check --test-days / --test-fraction");

  std::filesystem::create_directories(out);
  workflow.save(out / "workflow", summary.to_json());
  write_directory_atomic(out / "sessions", [&](const std::filesystem::path& tmp) {
    const char* names[] = {"train", "valid", "test"};
    for (int k = 0; k < 3; ++k) write_sessions(tables[k], tmp / names[k]);
  });
  workflow.output_schema(max_len).save(out / "schema.json");
  return summary;
}

}  // namespace seqrec::etl
