#include "seqrec/etl/workflow.h"

#include <set>

#include "seqrec/common/error.h"
#include "seqrec/schema/schema.h"
#include "support.h"

namespace seqrec::etl {

namespace {
Event event(const std::string& session, const std::string& item, int64_t t) { return {session, item, t * 1000, 0}; }

std::vector<int64_t> row_items(const SessionTable& t, int64_t row) {
  return std::vector<int64_t>(t.items_of(row), t.items_of(row) + t.length(row));
}

/// The flag-form workflow fitted on events in memory (the same ops as `seqrec etl`).
Workflow fitted(const WorkflowOptions& options, const std::vector<Event>& train) {
  Workflow w = Workflow::from_options(options);
  w.fit_frame(w.events_frame(train));
  return w;
}

/// A row's items back as raw ids.
std::vector<std::string> raw_items(const Workflow& w, const SessionTable& t, int64_t row) {
  std::vector<std::string> out;
  for (int64_t id : row_items(t, row)) out.push_back(w.items().decode(id));
  return out;
}

/// The message of the InvalidInput that `f` throws, else "(no error)".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "(no error)";
}

// Three days of sessions: day 0 (s1, s2), day 1 (s3), day 2 (s4, s5), header session_id,item_id,timestamp.
const char* kThreeDays =
    "session_id,item_id,timestamp\n"
    "s1,a,100\n"
    "s2,b,200\n"
    "s1,b,50\n"
    "s1,c,150\n"
    "s2,a,210\n"
    "s3,a,86500\n"
    "s3,b,86510\n"
    "s4,c,172900\n"
    "s4,a,172910\n"
    "s5,b,173000\n"
    "s5,z,173050\n";
}  // namespace

using WorkflowTest = test::TempDirTest;

TEST_F(WorkflowTest, GroupsSessionsAndSortsEventsByTime) {
  const std::vector<Event> events = {event("s1", "a", 30), event("s2", "x", 5), event("s1", "b", 10), event("s1", "c", 20)};
  WorkflowOptions options;
  options.min_length = 1;
  auto w = fitted(options, events);
  auto sessions = w.transform_events(events);
  ASSERT_EQ(sessions.session_ids, (std::vector<std::string>{"s1", "s2"}));  // first-seen order
  EXPECT_EQ(raw_items(w, sessions, 0), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(std::vector<int64_t>(sessions.timestamps.begin(), sessions.timestamps.begin() + 3),
            (std::vector<int64_t>{10000, 20000, 30000}));
  EXPECT_EQ(raw_items(w, sessions, 1), (std::vector<std::string>{"x"}));
}

TEST_F(WorkflowTest, EqualTimestampsKeepTheOrderColumn) {
  const std::vector<Event> events = {{"s", "second", 0, 2}, {"s", "first", 0, 1}, {"s", "third", 0, 3}};
  WorkflowOptions options;
  options.columns.order = "order";
  auto w = fitted(options, events);
  EXPECT_EQ(raw_items(w, w.transform_events(events), 0), (std::vector<std::string>{"first", "second", "third"}));
}

TEST_F(WorkflowTest, DropsConsecutiveRepeatsOnly) {
  const std::vector<Event> events = {event("s", "a", 1), event("s", "a", 2), event("s", "b", 3), event("s", "a", 4)};
  WorkflowOptions options;
  options.drop_repeats = true;
  auto w = fitted(options, events);
  EXPECT_EQ(raw_items(w, w.transform_events(events), 0), (std::vector<std::string>{"a", "b", "a"}));
  StepCounts counts;
  w.transform_to_frame(w.events_frame(events), /*online=*/false, &counts);
  int64_t dropped = 0;
  for (size_t k = 0; k < counts.removed.size(); ++k) dropped += w.spec().at("steps")[k].at("op") == "DropRepeats" ? counts.removed[k] : 0;
  EXPECT_EQ(dropped, 1);
}

TEST_F(WorkflowTest, TruncatesToTheLastItemsAndFiltersShortSessions) {
  WorkflowOptions options;
  options.max_length = 3;
  options.min_length = 2;
  std::vector<Event> train;
  for (int64_t i = 0; i < 5; ++i) train.push_back({"s1", std::string(1, static_cast<char>('a' + i)), i + 1, i});
  train.push_back({"s2", "a", 1, 0});
  auto w = fitted(options, train);
  // Batch (filters on): the one-item session goes.
  EXPECT_EQ(w.transform_to_frame(w.events_frame(train), /*online=*/false).rows(), 1);
  // Online, a one-item session is kept: it is a valid request.
  auto online = w.transform_events(train);
  ASSERT_EQ(online.size(), 2);
  // a appears twice in train (id 3); b..e once each, by value: b=4, c=5, d=6, e=7.
  EXPECT_EQ(row_items(online, 0), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(std::vector<int64_t>(online.timestamps.begin(), online.timestamps.begin() + 3), (std::vector<int64_t>{3, 4, 5}));
}

TEST_F(WorkflowTest, TimeSplitPutsLastDaysInTestAndNoSessionInTwoSplits) {
  auto input = write("events.csv", kThreeDays);
  WorkflowOptions options;
  options.split.valid_days = 1;
  options.split.test_days = 1;
  auto summary = run_etl({input.string()}, options, path("out"));
  EXPECT_EQ(summary.read.rows_read, 11);
  auto train = read_sessions(path("out/sessions/train"));
  auto valid = read_sessions(path("out/sessions/valid"));
  auto test = read_sessions(path("out/sessions/test"));
  EXPECT_EQ(train.session_ids, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(valid.session_ids, (std::vector<std::string>{"s3"}));
  EXPECT_EQ(test.session_ids, (std::vector<std::string>{"s4", "s5"}));
  for (int64_t d : train.days) EXPECT_LT(d, valid.days.front());
  for (int64_t d : test.days) EXPECT_GT(d, valid.days.front());
  // Statistics come from the data given to fit, as in NVTabular: a x4, b x4, c x2, z x1 (test only).
  EXPECT_EQ(test.items_of(1)[1], 6);
  auto schema = schema::Schema::load(path("out/schema.json"));
  EXPECT_EQ(schema.item_column().cardinality, 7);  // 3 reserved + a, b, c, z
}

TEST_F(WorkflowTest, RandomSplitIsDeterministicForASeed) {
  std::string csv = "session_id,item_id,timestamp\n";
  for (int s = 0; s < 200; ++s) csv += std::to_string(s) + ",a,1\n" + std::to_string(s) + ",b,2\n";
  auto input = write("events.csv", csv);
  WorkflowOptions options;
  options.split.method = SplitMethod::kRandom;
  options.split.seed = 7;
  run_etl({input.string()}, options, path("one"));
  run_etl({input.string()}, options, path("two"));
  auto a = read_sessions(path("one/sessions/test"));
  auto b = read_sessions(path("two/sessions/test"));
  EXPECT_EQ(a.session_ids, b.session_ids);
  EXPECT_GT(a.size(), 5);
  std::set<std::string> seen;
  for (const char* split : {"train", "valid", "test"})
    for (const auto& id : read_sessions(path(std::string("one/sessions/") + split)).session_ids)
      EXPECT_TRUE(seen.insert(id).second) << id << " is in two splits";
  EXPECT_EQ(seen.size(), 200u);
}

TEST_F(WorkflowTest, BatchAndOnlineTransformsAgree) {
  auto input = write("events.csv", kThreeDays);
  WorkflowOptions options;
  options.min_length = 1;
  run_etl({input.string()}, options, path("out"));
  auto workflow = Workflow::load(path("out/workflow"));
  auto test = read_sessions(path("out/sessions/test"));
  // The same raw test events, in a different row order, through the online path.
  auto online = workflow.transform_events({event("s5", "z", 173050), event("s4", "a", 172910), event("s5", "b", 173000),
                                           event("s4", "c", 172900)});
  ASSERT_EQ(online.session_ids, (std::vector<std::string>{"s5", "s4"}));
  EXPECT_EQ(row_items(online, 0), row_items(test, 1));
  EXPECT_EQ(row_items(online, 1), row_items(test, 0));
}

TEST_F(WorkflowTest, SavedAndLoadedWorkflowTransformsIdentically) {
  WorkflowOptions options;
  options.max_length = 2;
  options.drop_repeats = true;
  auto fitted_workflow = fitted(options, {{"s1", "a", 1, 0}, {"s1", "b", 2, 1}, {"s1", "c", 3, 2}, {"s2", "c", 1, 0}, {"s2", "c", 2, 1}});
  fitted_workflow.save(path("wf"), nlohmann::json::object());
  auto loaded = Workflow::load(path("wf"));
  std::vector<Event> events = {event("x", "c", 1), event("x", "c", 2), event("x", "q", 3), event("x", "a", 4)};
  auto a = fitted_workflow.transform_events(events);
  auto b = loaded.transform_events(events);
  EXPECT_EQ(a.items, b.items);
  EXPECT_EQ(row_items(b, 0), (std::vector<int64_t>{kOovId, loaded.items().encode("a")}));
  EXPECT_TRUE(loaded.options().drop_repeats);
}

TEST_F(WorkflowTest, BadTimestampNamesFileLineAndColumn) {
  auto input = write("bad.csv", "session_id,item_id,timestamp\ns1,a,100\ns1,b,not-a-time\n");
  const auto msg = error_of([&] { run_etl({input.string()}, WorkflowOptions{}, path("out")); });
  EXPECT_NE(msg.find("bad.csv:3:3: column 'timestamp': cannot parse 'not-a-time'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("row: 's1,b,not-a-time'"), std::string::npos) << msg;
}

TEST_F(WorkflowTest, WrongFieldCountAndEmptySessionAreErrors) {
  auto ragged = write("ragged.csv", "session_id,item_id,timestamp\ns1,a\n");
  auto msg = error_of([&] { run_etl({ragged.string()}, WorkflowOptions{}, path("out")); });
  EXPECT_NE(msg.find("ragged.csv:2: expected 3 comma-separated fields"), std::string::npos) << msg;
  auto empty_id = write("empty_id.csv", "session_id,item_id,timestamp\n,a,1\n");
  msg = error_of([&] { run_etl({empty_id.string()}, WorkflowOptions{}, path("out")); });
  EXPECT_NE(msg.find("empty_id.csv:2:1: column 'session_id': empty value in a required column"), std::string::npos) << msg;
}

TEST_F(WorkflowTest, SkipPolicyCountsEveryBadRow) {
  std::string csv = "session_id,item_id,timestamp\ns1,a,1\ns1,b,oops\ns1\ns1,c,3\n";
  for (int s = 0; s < 3; ++s) csv += "t" + std::to_string(s) + ",a," + std::to_string(86400 * (s + 1)) + "\nt" + std::to_string(s) + ",b," +
                                     std::to_string(86400 * (s + 1) + 1) + "\n";
  auto input = write("mixed.csv", csv);
  WorkflowOptions options;
  options.on_bad_row = BadRowPolicy::kSkip;
  options.min_length = 1;
  auto summary = run_etl({input.string()}, options, path("out"));
  EXPECT_EQ(summary.read.rows_read, 10);
  EXPECT_EQ(summary.read.rows_skipped, 2);
  ASSERT_EQ(summary.read.first_skip_reasons.size(), 2u);
  EXPECT_NE(summary.read.first_skip_reasons[0].find("mixed.csv:3:3"), std::string::npos);
  EXPECT_EQ(summary.train + summary.valid + summary.test, 4);  // s1 with its 2 good rows, t0..t2
}

TEST_F(WorkflowTest, DatePartsAndOrderMakeTheTimestamp) {
  auto input = write("uci.csv", "year;month;day;order;session ID;item\n2008;4;1;2;7;B4\n2008;4;1;1;7;A13\n");
  WorkflowOptions options;
  options.columns.session = "session ID";
  options.columns.item = "item";
  options.columns.date_parts = {"year", "month", "day"};
  options.columns.order = "order";
  Workflow w = Workflow::from_options(options);
  ReadStats stats;
  auto request = w.request_input();
  Frame raw = empty_input_frame(request);
  read_frames(input.string(), request, {}, stats, [&](Frame&& f) { raw.append(f); });
  w.fit_frame(raw);
  auto sessions = w.transform_file(input.string(), request, stats);
  ASSERT_EQ(sessions.size(), 1);
  EXPECT_EQ(raw_items(w, sessions, 0), (std::vector<std::string>{"A13", "B4"}));
  EXPECT_EQ(sessions.timestamps[0], days_from_civil(2008, 4, 1) * kMillisPerDay + 1000);
}

TEST_F(WorkflowTest, FailedRunLeavesNoArtifactBehind) {
  auto input = write("events.csv", "session_id,item_id,timestamp\ns1,a,1\ns1,b,2\n");
  WorkflowOptions options;  // one day only: the time split cannot work
  EXPECT_THROW(run_etl({input.string()}, options, path("out")), InvalidInput);
  EXPECT_FALSE(std::filesystem::exists(path("out/sessions")));
  EXPECT_FALSE(std::filesystem::exists(path("out/schema.json")));
}

TEST_F(WorkflowTest, InvalidOptionsAreAllReported) {
  WorkflowOptions options;
  options.max_length = 0;
  options.split.method = SplitMethod::kWindow;  // a workflow file's, not the flags'

  try {
    run_etl({"x.csv"}, options, path("out"));
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("--max-length must be >= 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--split must be time or random"), std::string::npos) << msg;
  }
}

}  // namespace seqrec::etl
