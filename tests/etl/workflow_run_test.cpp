// The declarative workflow end to end: fit, transform, run, windows, parity of batch and online, schemas.
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/etl/synth.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/schema/pbtxt.h"
#include "support.h"

namespace seqrec::etl {

using nlohmann::json;

namespace {

/// The Transformers4Rec session pipeline (DESIGN.md §3) over the synth columns.
json session_pipeline(const json& split) {
  json spec = json::parse(R"({
    "input": {"format": "csv", "columns": {
      "session_id": {"type": "string", "required": true}, "item_id": "string",
      "timestamp": {"type": "timestamp", "format": "s"}, "category": "string", "price": "float"}},
    "groups": {"categorical": ["item_id", "category"]},
    "steps": [
      {"op": "ItemAge", "item": "item_id", "timestamp": "timestamp", "out": "item_age_days"},
      {"op": "Categorify", "columns": "@categorical"},
      {"op": "TimeFeatures", "columns": "timestamp", "parts": ["weekday_sin", "hour_sin", "hour_cos"]},
      {"columns": ["price"], "chain": [{"op": "FillMedian"}, {"op": "LogOp"}, {"op": "Normalize"}]},
      {"op": "Normalize", "columns": "item_age_days"},
      {"op": "Groupby", "by": "session_id", "sort": ["timestamp"], "aggs": {
        "item_id": ["list", "count"], "category": ["list"], "timestamp": ["list", "first"],
        "timestamp_weekday_sin": ["list"], "timestamp_hour_sin": ["list"], "timestamp_hour_cos": ["list"],
        "price": ["list"], "item_age_days": ["list"]}},
      {"op": "DropRepeats", "column": "item_id-list"},
      {"op": "ListSlice", "columns": ["item_id-list", "category-list", "timestamp-list", "timestamp_weekday_sin-list",
        "timestamp_hour_sin-list", "timestamp_hour_cos-list", "price-list", "item_age_days-list"], "last": 20},
      {"op": "Filter", "where": {"column": "item_id-list", "op": ">=", "value": 2}}
    ],
    "output": {"session_id": "session_id", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"}
  })");
  spec["split"] = split;
  return spec;
}

std::map<std::string, std::vector<int64_t>> items_by_session(const SessionTable& t) {
  std::map<std::string, std::vector<int64_t>> m;
  for (int64_t r = 0; r < t.size(); ++r) m[t.session_ids[r]] = std::vector<int64_t>(t.items_of(r), t.items_of(r) + t.length(r));
  return m;
}

}  // namespace

class WorkflowRunTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    SynthOptions synth;
    synth.sessions = 400;
    synth.items = 60;
    synth.days = 4;
    synth.seed = 3;
    std::ofstream out(path("events.csv"));
    write_synth_events(synth, out);
    input_ = path("events.csv").string();
  }
  std::string input_;
};

TEST_F(WorkflowRunTest, WindowSplitWritesChronologicalFoldersAndAManifest) {
  auto workflow = Workflow::from_spec(session_pipeline({{"method", "window"}, {"window", "day"}, {"valid_fraction", 0.2}, {"test_fraction", 0.2}}));
  auto summary = workflow.run({input_}, path("out"));
  EXPECT_GT(summary.read.rows_read, 1000);
  json windows = json::parse(read_text_file(path("out/sessions/windows.json")));
  ASSERT_GE(windows["windows"].size(), 4u);
  EXPECT_EQ(windows["windows"][0]["name"], "day-0001");
  EXPECT_EQ(windows["windows"][1]["name"], "day-0002");
  std::set<std::string> seen;
  int64_t last_day = INT64_MIN, rows = 0;
  for (const auto& w : windows["windows"]) {
    int64_t window_day = INT64_MIN;
    for (const char* split : {"train", "valid", "test"}) {
      auto t = read_sessions(path("out/sessions") / w["name"].get<std::string>() / split);
      EXPECT_EQ(t.size(), w["sessions"][split].get<int64_t>());
      rows += t.size();
      for (int64_t r = 0; r < t.size(); ++r) {
        EXPECT_TRUE(seen.insert(t.session_ids[r]).second) << t.session_ids[r] << " is in two folders";
        EXPECT_GE(t.length(r), 2);
        EXPECT_LE(t.length(r), 20);
        if (window_day == INT64_MIN) window_day = t.days[r];
        EXPECT_EQ(t.days[r], window_day);
      }
    }
    if (window_day != INT64_MIN) {
      EXPECT_GT(window_day, last_day);
      last_day = window_day;
    }
  }
  EXPECT_EQ(rows, summary.train + summary.valid + summary.test);
  EXPECT_GT(summary.valid, 0);
  EXPECT_GT(summary.test, 0);
  // The extra columns travel with their schema entries.
  auto schema = schema::Schema::load(path("out/schema.json"));
  const auto& cat = schema.column("category-list");
  EXPECT_TRUE(cat.is_list);
  EXPECT_TRUE(cat.has_tag("categorical"));
  EXPECT_EQ(cat.cardinality, 3 + 20);  // synth's 20 categories
  EXPECT_LE(cat.max_length, 20);
  EXPECT_GE(cat.min_length, 2);
  const auto& price = schema.column("price-list");
  EXPECT_EQ(price.dtype, "float32");
  EXPECT_TRUE(price.has_tag("continuous"));
  EXPECT_EQ(schema.item_column().name, "item_id");
  EXPECT_EQ(schema.item_column().cardinality, workflow.items().cardinality());
  auto pb = schema::load_pbtxt(path("out/schema.pbtxt"));
  EXPECT_EQ(pb.column("category-list").cardinality, cat.cardinality);
  // Column accessor for the model side.
  auto day1 = read_sessions(path("out/sessions/day-0001/train"));
  const auto* c = day1.column("category-list");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->dtype, "int64");
  EXPECT_EQ(c->offsets, day1.offsets);
  const auto* p = day1.column("price-list");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->floats.size(), day1.items.size());
  EXPECT_EQ(day1.column("nope"), nullptr);
}

TEST_F(WorkflowRunTest, YamlWorkflowFileRunsLikeTheSameJson) {
  write("workflow.yaml", R"(# a YAML workflow: comments, block lists, flow maps, quoted strings
input:
  format: csv
  columns:
    session_id: {type: string, required: true}
    item_id: string
    timestamp: {type: timestamp, format: s}
    category: string
    price: float
steps:
  - {op: Categorify, columns: [item_id, category], freq_threshold: 2}
  - op: Groupby
    by: session_id
    sort: [timestamp]
    aggs: {item_id: [list, count], category: [list], timestamp: [list, first]}
  - {op: ListSlice, columns: [item_id-list, category-list, timestamp-list], last: 10}
  - op: Filter
    where: {column: item_id-list, op: ">=", value: 2}
output: {session_id: session_id, item: item_id-list, timestamp: timestamp-list, time: timestamp-first}
split: {method: random, valid_fraction: 0.1, test_fraction: 0.2, seed: 5}
)");
  const json spec = json::parse(R"({
    "input": {"format": "csv", "columns": {
      "session_id": {"type": "string", "required": true}, "item_id": "string",
      "timestamp": {"type": "timestamp", "format": "s"}, "category": "string", "price": "float"}},
    "steps": [
      {"op": "Categorify", "columns": ["item_id", "category"], "freq_threshold": 2},
      {"op": "Groupby", "by": "session_id", "sort": ["timestamp"],
       "aggs": {"item_id": ["list", "count"], "category": ["list"], "timestamp": ["list", "first"]}},
      {"op": "ListSlice", "columns": ["item_id-list", "category-list", "timestamp-list"], "last": 10},
      {"op": "Filter", "where": {"column": "item_id-list", "op": ">=", "value": 2}}],
    "output": {"session_id": "session_id", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"},
    "split": {"method": "random", "valid_fraction": 0.1, "test_fraction": 0.2, "seed": 5}})");
  auto from_yaml = Workflow::from_file(path("workflow.yaml"));
  from_yaml.run({input_}, path("yaml"));
  Workflow::from_spec(spec).run({input_}, path("json"));
  for (const char* split : {"train", "valid", "test"}) {
    auto a = read_sessions(path("yaml/sessions") / split);
    ASSERT_GT(a.size(), 0) << split;
    EXPECT_EQ(items_by_session(a), items_by_session(read_sessions(path("json/sessions") / split))) << split;
  }
  write("bad.yaml", "steps:\n  - {op: Categorify\n");
  try {
    Workflow::from_file(path("bad.yaml"));
    FAIL() << "a broken YAML file loaded";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid YAML"), std::string::npos) << e.what();
  }
}

TEST_F(WorkflowRunTest, FitSaveLoadTransformEqualsRunAndOnlineEqualsBatch) {
  const json spec = session_pipeline({{"method", "random"}, {"valid_fraction", 0.1}, {"test_fraction", 0.2}, {"seed", 5}});
  auto ran = Workflow::from_spec(spec);
  ran.run({input_}, path("run"));
  auto fitted = Workflow::from_spec(spec);
  fitted.fit({input_}, RunOptions{1, 4096, 1 << 20});  // tiny chunks and partitions: statistics merge
  fitted.save(path("wf"), json::object());
  auto loaded = Workflow::load(path("wf"));
  loaded.transform({input_}, path("tr"));
  for (const char* split : {"train", "valid", "test"}) {
    auto a = read_sessions(path("run/sessions") / split);
    auto b = read_sessions(path("tr/sessions") / split);
    EXPECT_EQ(items_by_session(a), items_by_session(b)) << split;
    ASSERT_EQ(a.columns.size(), b.columns.size());
  }
  // Online: the raw events of the test sessions, as a request would carry them, give the batch rows.
  auto test = read_sessions(path("run/sessions/test"));
  std::set<std::string> wanted(test.session_ids.begin(), test.session_ids.begin() + std::min<int64_t>(5, test.size()));
  std::vector<std::pair<std::string, std::vector<std::string>>> request = {
      {"session_id", {}}, {"item_id", {}}, {"timestamp", {}}, {"category", {}}, {"price", {}}};
  std::istringstream csv(read_text_file(input_));
  std::string line;
  std::getline(csv, line);
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (!wanted.count(f[0])) continue;
    for (size_t k = 0; k < 5; ++k) request[k].second.push_back(f[k]);
  }
  auto online = loaded.transform_frame(loaded.raw_frame(request));
  ASSERT_EQ(online.size(), static_cast<int64_t>(wanted.size()));
  for (int64_t r = 0; r < online.size(); ++r) {
    auto it = std::find(test.session_ids.begin(), test.session_ids.end(), online.session_ids[r]);
    ASSERT_NE(it, test.session_ids.end());
    const int64_t b = it - test.session_ids.begin();
    EXPECT_EQ(std::vector<int64_t>(online.items_of(r), online.items_of(r) + online.length(r)),
              std::vector<int64_t>(test.items_of(b), test.items_of(b) + test.length(b)));
    EXPECT_EQ(online.days[r], test.days[b]);
    for (size_t k = 0; k < test.columns.size(); ++k) {
      const auto& oc = online.columns[k];
      const auto& bc = test.columns[k];
      ASSERT_EQ(oc.name, bc.name);
      ASSERT_EQ(oc.length(r), bc.length(b)) << oc.name;
      for (int64_t i = 0; i < oc.length(r); ++i) {
        if (oc.is_float()) EXPECT_FLOAT_EQ(oc.floats_of(r)[i], bc.floats_of(b)[i]) << oc.name;
        else EXPECT_EQ(oc.ints_of(r)[i], bc.ints_of(b)[i]) << oc.name;
      }
    }
  }
}

TEST_F(WorkflowRunTest, TimeAndCutoffSplitsRespectTimeOrder) {
  auto w = Workflow::from_spec(session_pipeline({{"method", "time"}, {"valid_days", 1}, {"test_days", 1}}));
  w.run({input_}, path("time"));
  auto train = read_sessions(path("time/sessions/train"));
  auto valid = read_sessions(path("time/sessions/valid"));
  auto test = read_sessions(path("time/sessions/test"));
  ASSERT_GT(train.size(), 0);
  ASSERT_GT(valid.size(), 0);
  ASSERT_GT(test.size(), 0);
  const int64_t valid_day = valid.days.front();
  for (int64_t d : train.days) EXPECT_LT(d, valid_day);
  for (int64_t d : valid.days) EXPECT_EQ(d, valid_day);
  for (int64_t d : test.days) EXPECT_GT(d, valid_day);

  auto c = Workflow::from_spec(session_pipeline({{"method", "cutoffs"}, {"valid_from", "2024-01-03"}, {"test_from", "2024-01-04"}}));
  c.run({input_}, path("cut"));
  const int64_t jan3 = days_from_civil(2024, 1, 3);
  for (int64_t d : read_sessions(path("cut/sessions/train")).days) EXPECT_LT(d, jan3);
  for (int64_t d : read_sessions(path("cut/sessions/valid")).days) EXPECT_EQ(d, jan3);
  for (int64_t d : read_sessions(path("cut/sessions/test")).days) EXPECT_GT(d, jan3);
}

TEST_F(WorkflowRunTest, SummaryCountsFiltersAndQuarantinedRows) {
  std::string csv = read_text_file(input_);
  csv += "999,100001,not-a-time,3,1.5\n";
  write("dirty.csv", csv);
  auto w = Workflow::from_spec(session_pipeline({{"method", "random"}}));
  RunOptions run;
  run.on_bad_row = BadRowPolicy::kQuarantine;
  auto s = w.run({path("dirty.csv").string()}, path("out"), run);
  EXPECT_EQ(s.read.rows_skipped, 1);
  EXPECT_TRUE(std::filesystem::exists(path("out/rejects.tsv")));
  json summary = json::parse(read_text_file(path("out/summary.json")));
  EXPECT_EQ(summary["rows_rejected"], 1);
  bool saw_filter = false;
  for (const auto& step : summary["steps"])
    if (step["op"] == "Filter") {
      saw_filter = true;
      EXPECT_EQ(step["rows_removed"].get<int64_t>(), s.removed_short);
    }
  EXPECT_TRUE(saw_filter);
  EXPECT_EQ(s.sessions, s.train + s.valid + s.test + s.removed_short);
  json saved = json::parse(read_text_file(path("out/workflow/workflow.json")));
  EXPECT_EQ(saved["summary"]["run"]["rows_rejected"], 1);
  auto described = Workflow::load(path("out/workflow")).describe();
  EXPECT_EQ(described["steps"][1]["op"], "Categorify");
  EXPECT_EQ(described["steps"][1]["statistics"]["item_id"]["cardinality"], w.items().cardinality());
  // Strict by default.
  auto strict = Workflow::from_spec(session_pipeline({{"method", "random"}}));
  EXPECT_THROW(strict.run({path("dirty.csv").string()}, path("strict")), InvalidInput);
}

TEST_F(WorkflowRunTest, InvalidWorkflowReportsEveryProblem) {
  json spec = session_pipeline({{"method", "sideways"}});
  spec["colour"] = "red";
  spec["steps"][4]["columns"] = "item_age";  // a typo of item_age_days
  try {
    Workflow::from_spec(spec, "wf.json");
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("wf.json: invalid workflow"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown key 'colour'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("split.method must be time, random, cutoffs, window or none, got"), std::string::npos) << msg;
  }
  spec = session_pipeline({{"method", "random"}});
  spec["steps"][4]["columns"] = "item_age";
  try {
    Workflow::from_spec(spec, "wf.json");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("step 7 (Normalize): no column 'item_age' at this step"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Workflow::from_spec(session_pipeline({{"method", "random"}})).transform({input_}, path("x")), InvalidInput);
}

TEST_F(WorkflowRunTest, ExportCsvDecodesItems) {
  auto w = Workflow::from_spec(session_pipeline({{"method", "none"}}));
  w.run({input_}, path("out"));
  std::ostringstream out;
  const int64_t rows = export_sessions_csv(path("out/sessions/all"), out, &w);
  auto all = read_sessions(path("out/sessions/all"));
  EXPECT_EQ(rows, all.size());
  std::istringstream in(out.str());
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header.rfind("session_id,item_id,timestamp,day,category-list,item_age_days-list,item_id-count", 0), 0u) << header;
  EXPECT_EQ(first.rfind(all.session_ids[0] + "," + w.items().decode(all.items[0]) + " ", 0), 0u) << first;
}

TEST(SchemaPbtxtTest, NvtabularSchemaLoadsWithItsTags) {
  auto s = schema::Schema::load(std::string(SEQREC_TEST_DATA_DIR) + "/etl/nvtabular_schema.pbtxt");
  ASSERT_EQ(s.columns.size(), 5u);
  EXPECT_EQ(s.item_column().name, "item_id-list");  // category-list is tagged item too, but not item_id
  EXPECT_EQ(s.item_column().cardinality, 220);
  EXPECT_TRUE(s.item_column().is_list);
  EXPECT_EQ(s.item_column().max_length, 20);
  EXPECT_TRUE(s.column("session_id").has_tag("session"));
  EXPECT_EQ(s.column("session_id").cardinality, 0);  // not categorical
  EXPECT_EQ(s.column("price_log_norm-list").dtype, "float32");
  EXPECT_TRUE(s.column("price_log_norm-list").has_tag("continuous"));
  EXPECT_FALSE(s.column("day_index-first").is_list);
  auto again = schema::from_pbtxt(schema::to_pbtxt(s));
  ASSERT_EQ(again.columns.size(), s.columns.size());
  for (size_t i = 0; i < s.columns.size(); ++i) {
    EXPECT_EQ(again.columns[i].name, s.columns[i].name);
    EXPECT_EQ(again.columns[i].tags, s.columns[i].tags);
    EXPECT_EQ(again.columns[i].cardinality, s.columns[i].cardinality);
    EXPECT_EQ(again.columns[i].is_list, s.columns[i].is_list);
    EXPECT_EQ(again.columns[i].max_length, s.columns[i].max_length);
  }
  EXPECT_EQ(again.fingerprint(), s.fingerprint());
  try {
    schema::from_pbtxt("feature {\n  name: \"x\"\n  type: INT\n", "broken.pbtxt");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("broken.pbtxt:4:1: missing '}'"), std::string::npos) << e.what();
  }
}

}  // namespace seqrec::etl
