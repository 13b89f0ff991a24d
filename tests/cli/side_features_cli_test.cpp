// Side information end to end, as a user runs it: events whose next item only a side feature reveals go through
// etl -> train (features from the schema) -> evaluate -> export -> predict from raw events -> the server, and the
// model with the feature finds the pattern while the item-only model cannot.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {
namespace {

using nlohmann::json;
using test::run_cli;

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

/// What decides the next item in the planted data.
enum class Planted { kHint, kLevel };

constexpr int kHints = 30;   // categorical pattern: 30 possible next items, item-only Recall@10 ~ 10/30
constexpr int kLevels = 10;  // continuous pattern: 10 possible next items, item-only Recall@1 ~ 1/10

/// Sessions of 6-10 events. Every event carries a random categorical `hint` (h0..h29) and a random `level` (0..9 as a
/// float); the item after an event is i<hint> (Planted::kHint) or i<level> (Planted::kLevel), so the items alone say
/// nothing about what comes next. Each session has a `segment` (s0..s5), and `converted` is 1 exactly for the even
/// segments: a session-level target only the segment feature reveals.
void write_events(const std::filesystem::path& path, Planted planted, int sessions, uint32_t seed) {
  std::mt19937 rng(seed);
  std::ofstream out(path);
  out << "session,item,ts,hint,level,segment,converted\n";
  int64_t ts = 1704067200;
  for (int s = 0; s < sessions; ++s) {
    const int segment = static_cast<int>(rng() % 6);
    const int length = 6 + static_cast<int>(rng() % 5);
    int item = static_cast<int>(rng() % kHints);
    for (int e = 0; e < length; ++e) {
      const int hint = static_cast<int>(rng() % kHints), level = static_cast<int>(rng() % kLevels);
      out << "u" << s << ",i" << item << ',' << ts++ << ",h" << hint << ',' << level << ".0,s" << segment << ','
          << (segment % 2 == 0 ? 1 : 0) << '\n';
      item = planted == Planted::kHint ? hint : level;
    }
  }
}

constexpr const char* kWorkflow = R"({
  "input": {"format": "csv", "columns": {
    "session": {"type": "string", "required": true}, "item": {"type": "string", "required": true},
    "ts": {"type": "timestamp", "format": "s", "required": true},
    "hint": "string", "level": "float", "segment": "string", "converted": "int"}},
  "steps": [
    {"op": "Categorify", "columns": ["item", "hint", "segment"]},
    {"op": "Groupby", "by": "session", "sort": ["ts"], "aggs": {
      "item": ["list"], "hint": ["list"], "level": ["list"], "ts": ["list", "first"], "segment": ["first"], "converted": ["first"]}},
    {"op": "Filter", "where": {"column": "item-list", "op": ">=", "value": 2}}
  ],
  "output": {"session_id": "session", "item": "item-list", "timestamp": "ts-list", "time": "ts-first"},
  "split": {"method": "random", "valid_fraction": 0.1, "test_fraction": 0.15, "seed": 7},
  "events": {"session": "session", "item": "item", "timestamp": "ts"}
})";

constexpr const char* kTrainFlags = " --d-model 32 --num-heads 2 --num-layers 1 --dropout 0.0 --epochs 12 --batch-size 32"
                                    " --learning-rate 0.005 --seed 3 --threads 2 --k 1,10";

class SideFeaturesCliTest : public test::TempDirTest {
 protected:
  void make_data(Planted planted) {
    write_events(path("events.csv"), planted, 900, 11);
    write("workflow.json", kWorkflow);
    auto etl = run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(path("events.csv")) + " --out " +
                       q(path("data")));
    ASSERT_EQ(etl.exit_code, 0) << etl.output;
  }
  /// Trains into `run` with `flags`, keeping the checkpoint of the best valid `select`; returns the training log.
  std::string train(const std::string& run, const std::string& flags, const std::string& select = "recall@10") {
    auto r = run_cli("train --data " + q(path("data")) + " --run " + q(path(run)) + kTrainFlags + " --select-metric " + select +
                     " " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output;
  }
  /// Starts `seqrec serve` on path("bundle") over loopback; returns its HTTP port once ready, else 0. TearDown stops it.
  int start_server() {
    const int port = test::free_port();
    if (std::system((std::string(SEQREC_CLI_PATH) + " serve --bundle " + q(path("bundle")) + " --http-port " +
                     std::to_string(port) + " --grpc-port -1 --metrics-port -1 --threads 1 > " + q(path("serve.log")) +
                     " 2>&1 & echo $! > " + q(path("pid"))).c_str()) != 0)
      return 0;
    httplib::Client client("127.0.0.1", port);
    for (int i = 0; i < 300; ++i) {
      auto res = client.Get("/v2/health/ready");
      if (res && res->status == 200) return port;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
  }
  void TearDown() override {
    if (std::filesystem::exists(path("pid"))) std::system(("kill -TERM $(cat " + q(path("pid")) + ")").c_str());
    TempDirTest::TearDown();
  }
  /// The test split's evaluation of `run` as JSON (its first result).
  json evaluate(const std::string& run) {
    auto r = run_cli("evaluate --data " + q(path("data")) + " --run " + q(path(run)) + " --split test --k 1,10 --json -", "",
                     path("evaluate.log").string());
    EXPECT_EQ(r.exit_code, 0) << r.output << read_text_file(path("evaluate.log"));
    return json::parse(r.output).at("results").at(0);
  }
};

TEST_F(SideFeaturesCliTest, ACategoricalHintReachesTrainingEvaluationPredictionAndTheServer) {
  make_data(Planted::kHint);
  // auto: every categorical and continuous column of the schema, cardinalities from it; none: item ids only.
  const auto log = train("feat", "--features auto");
  EXPECT_NE(log.find("side features: hint-list, level-list, segment-first"), std::string::npos) << log;
  EXPECT_NE(train("items", "--features none").find("side features: none (item ids only)"), std::string::npos);
  const double with_hint = evaluate("feat").at("metrics").at("recall@10").get<double>();
  const double items_only = evaluate("items").at("metrics").at("recall@10").get<double>();
  EXPECT_GT(with_hint, 0.9) << "the hint decides the next item";
  EXPECT_LT(items_only, 0.5) << "items alone leave 30 equally likely next items (10/30 by chance)";

  auto inspect = run_cli("inspect " + q(path("feat")));
  EXPECT_NE(inspect.output.find("hint-list"), std::string::npos) << inspect.output;

  // Raw events in, through the bundle's workflow: the top item is i<last hint>.
  ASSERT_EQ(run_cli("export --data " + q(path("data")) + " --run " + q(path("feat")) + " --out " + q(path("bundle")) +
                    " --model-name recs").exit_code, 0);
  std::string request = "session,item,ts,hint,level,segment,converted\n";
  std::mt19937 rng(5);
  std::vector<std::string> expected;
  for (int s = 0; s < 20; ++s) {
    int hint = 0;
    for (int e = 0; e < 4; ++e) {
      hint = static_cast<int>(rng() % kHints);
      request += "r" + std::to_string(s) + ",i" + std::to_string(rng() % kHints) + "," + std::to_string(1800000000 + e) + ",h" +
                 std::to_string(hint) + ",1.0,s1,0\n";
    }
    expected.push_back("i" + std::to_string(hint));
  }
  write("request.csv", request);
  auto predicted = run_cli("predict --bundle " + q(path("bundle")) + " --input " + q(path("request.csv")) +
                           " --top-k 3 --format json --out " + q(path("recs.json")));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const auto recs = json::parse(read_text_file(path("recs.json")));
  ASSERT_EQ(recs.size(), 20u);
  int hits = 0;
  for (size_t s = 0; s < recs.size(); ++s) hits += recs[s].at("item_ids").at(0) == expected[s];
  EXPECT_GE(hits, 18) << recs.dump();

  // A request file without the hint column is refused, naming it.
  write("no_hint.csv", "session,item,ts,level,segment,converted\nr1,i1,1800000000,1.0,s1,0\n");
  auto refused = run_cli("predict --bundle " + q(path("bundle")) + " --input " + q(path("no_hint.csv")));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.output.find("hint"), std::string::npos) << refused.output;

  // The server gives the same top-k for the same raw events, and a 400 naming the missing feature column.
  const int port = start_server();
  ASSERT_GT(port, 0) << read_text_file(path("serve.log"));
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  json columns = {{"session", json::array()}, {"item", json::array()}, {"ts", json::array()}, {"hint", json::array()},
                  {"level", json::array()}, {"segment", json::array()}, {"converted", json::array()}};
  std::istringstream lines(request);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::stringstream fields(line);
    for (std::string v; std::getline(fields, v, ',');) f.push_back(v);
    columns["session"].push_back(f[0]);
    columns["item"].push_back(f[1]);
    columns["ts"].push_back(std::stoll(f[2]));
    columns["hint"].push_back(f[3]);
    columns["level"].push_back(std::stod(f[4]));
    columns["segment"].push_back(f[5]);
    columns["converted"].push_back(std::stoll(f[6]));
  }
  auto infer = [&](const std::vector<std::string>& names) {
    json inputs = json::array();
    for (const auto& name : names) {
      const auto& data = columns[name];
      const std::string type = data[0].is_string() ? "BYTES" : data[0].is_number_float() ? "FP32" : "INT64";
      inputs.push_back({{"name", name}, {"datatype", type}, {"shape", {data.size()}}, {"data", data}});
    }
    return client.Post("/v2/models/recs/infer", json{{"inputs", inputs}, {"parameters", {{"top_k", 3}}}}.dump(), "application/json");
  };
  auto res = infer({"session", "item", "ts", "hint", "level", "segment", "converted"});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto outputs = json::parse(res->body).at("outputs");
  const auto& item_ids = outputs.at(1).at("data");
  ASSERT_EQ(item_ids.size(), 60u);
  for (size_t s = 0; s < recs.size(); ++s)
    for (size_t j = 0; j < 3; ++j) EXPECT_EQ(item_ids[s * 3 + j], recs[s].at("item_ids")[j]) << "session " << s << " rank " << j;
  // An unknown hint takes the OOV id and a missing one the null id, as unknown items do: scored, not refused.
  columns["hint"][0] = "never-seen";
  columns["hint"][1] = "";
  res = infer({"session", "item", "ts", "hint", "level", "segment", "converted"});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  res = infer({"session", "item", "ts", "level", "segment", "converted"});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(res->body.find("hint"), std::string::npos) << res->body;
}

TEST_F(SideFeaturesCliTest, AContinuousLevelIsFoundBySoftOneHotAndByProjection) {
  make_data(Planted::kLevel);
  write("soft.yaml", "input:\n  features:\n    - name: level-list\n      encoding: soft_one_hot\n      bins: 16\n");
  write("mlp.yaml", "input:\n  features:\n    - name: level-list\n");
  // Ten next items: recall@10 is 1 for every model, so valid picks the checkpoint by recall@1.
  train("soft", "--model-config " + q(path("soft.yaml")), "recall@1");
  train("mlp", "--model-config " + q(path("mlp.yaml")), "recall@1");
  train("items", "--features none", "recall@1");
  const double soft = evaluate("soft").at("metrics").at("recall@1").get<double>();
  const double mlp = evaluate("mlp").at("metrics").at("recall@1").get<double>();
  const double items_only = evaluate("items").at("metrics").at("recall@1").get<double>();
  EXPECT_GT(soft, 0.8) << "soft one-hot";
  EXPECT_GT(mlp, 0.8) << "Linear + ReLU projection";
  EXPECT_LT(items_only, 0.3) << "items alone: 10 equally likely next items";
}

TEST_F(SideFeaturesCliTest, ASessionTaskTrainsBesideNextItemAndIsReportedAndServed) {
  make_data(Planted::kHint);
  write("task.yaml", "tasks:\n  - type: binary\n    target: converted-first\n    weight: 1.0\n");
  train("task", "--model-config " + q(path("task.yaml")) + " --features segment-first,hint-list");
  train("blind", "--model-config " + q(path("task.yaml")) + " --features none");
  const auto with_segment = evaluate("task").at("task_metrics");
  const auto blind = evaluate("blind").at("task_metrics");
  EXPECT_GT(with_segment.at("converted-first/auc").get<double>(), 0.95) << with_segment.dump();
  EXPECT_LT(with_segment.at("converted-first/logloss").get<double>(), 0.3) << with_segment.dump();
  EXPECT_LT(blind.at("converted-first/auc").get<double>(), 0.75) << "nothing but the segment tells converted; " << blind.dump();

  // predict returns the task's probability per session.
  write("request.csv", "session,item,ts,hint,level,segment,converted\n"
                       "a,i1,1800000000,h1,1.0,s2,0\na,i2,1800000001,h2,1.0,s2,0\n"
                       "b,i1,1800000000,h1,1.0,s3,0\nb,i2,1800000001,h2,1.0,s3,0\n");
  auto predicted = run_cli("predict --data " + q(path("data")) + " --run " + q(path("task")) + " --input " +
                           q(path("request.csv")) + " --task-outputs --format json --out " + q(path("recs.json")));
  ASSERT_EQ(predicted.exit_code, 0) << predicted.output;
  const auto recs = json::parse(read_text_file(path("recs.json")));
  ASSERT_EQ(recs.size(), 2u);
  const double s2 = recs[0].at("tasks").at("converted-first").get<double>(), s3 = recs[1].at("tasks").at("converted-first").get<double>();
  EXPECT_GT(s2, 0.6) << "segment s2 converts";
  EXPECT_LT(s3, 0.4) << "segment s3 does not";
}

// OTTO's layout (session, aid, ts, type in clicks/carts/orders): the event type is a list feature and "the session
// orders" a binary session target, made in the workflow by IsIn and a Groupby max; the server returns the task output.
TEST_F(SideFeaturesCliTest, EventTypesAreAFeatureAndTheSessionOrdersIsATaskTheServerReturns) {
  std::mt19937 rng(3);
  std::string events = "session,aid,ts,type\n";
  for (int s = 0; s < 600; ++s) {
    const bool orders = rng() % 5 < 2;
    const int length = 5 + static_cast<int>(rng() % 6);
    for (int e = 0; e < length; ++e) {
      const char* type = orders && e == length - 2 ? "orders" : rng() % 4 == 0 ? "carts" : "clicks";
      events += std::to_string(s) + "," + std::to_string(100 + rng() % 40) + "," + std::to_string(1659304800000LL + s * 100000 + e * 1000) +
                "," + type + "\n";
    }
  }
  write("events.csv", events);
  write("workflow.json", R"({
    "input": {"format": "csv", "columns": {"session": {"type": "string", "required": true}, "aid": {"type": "string", "required": true},
      "ts": {"type": "timestamp", "format": "ms", "required": true}, "type": "string"}},
    "steps": [
      {"op": "IsIn", "columns": "type", "values": ["orders"], "out": "ordered"},
      {"op": "Categorify", "columns": ["aid", "type"]},
      {"op": "Groupby", "by": "session", "sort": ["ts"], "aggs": {"aid": ["list"], "type": ["list"], "ts": ["list", "first"], "ordered": ["max"]}}
    ],
    "output": {"session_id": "session", "item": "aid-list", "timestamp": "ts-list", "time": "ts-first"},
    "split": {"method": "random", "valid_fraction": 0.15, "test_fraction": 0.15, "seed": 1},
    "events": {"session": "session", "item": "aid", "timestamp": "ts"}
  })");
  ASSERT_EQ(run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(path("events.csv")) + " --out " +
                    q(path("data"))).exit_code, 0);
  write("task.yaml", "tasks:\n  - type: binary\n    target: ordered-max\n");
  EXPECT_NE(train("otto", "--model-config " + q(path("task.yaml"))).find("side features: type-list"), std::string::npos);
  const auto tasks = evaluate("otto").at("task_metrics");
  EXPECT_GT(tasks.at("ordered-max/auc").get<double>(), 0.95) << tasks.dump();

  ASSERT_EQ(run_cli("export --data " + q(path("data")) + " --run " + q(path("otto")) + " --out " + q(path("bundle")) +
                    " --model-name recs").exit_code, 0);
  const int port = start_server();
  ASSERT_GT(port, 0) << read_text_file(path("serve.log"));
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  const json request = {{"inputs", {{{"name", "session"}, {"datatype", "BYTES"}, {"shape", {4}}, {"data", {"a", "a", "b", "b"}}},
                                    {{"name", "aid"}, {"datatype", "BYTES"}, {"shape", {4}}, {"data", {"101", "102", "101", "102"}}},
                                    {{"name", "ts"}, {"datatype", "INT64"}, {"shape", {4}}, {"data", {1, 2, 1, 2}}},
                                    {{"name", "type"}, {"datatype", "BYTES"}, {"shape", {4}}, {"data", {"clicks", "orders", "clicks", "clicks"}}}}},
                        {"outputs", {{{"name", "item_ids"}}, {{"name", "ordered-max/binary_classification_task"}}}}};
  auto res = client.Post("/v2/models/recs/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const auto outputs = json::parse(res->body).at("outputs");
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[1].at("name"), "ordered-max/binary_classification_task");
  EXPECT_EQ(outputs[1].at("shape"), json::array({2}));
  EXPECT_GT(outputs[1].at("data")[0].get<double>(), 0.8) << "session a ordered";
  EXPECT_LT(outputs[1].at("data")[1].get<double>(), 0.2) << "session b did not";
  res = client.Get("/v2/models/recs");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("ordered-max/binary_classification_task"), std::string::npos) << "the metadata lists it";
}

TEST_F(SideFeaturesCliTest, FeaturesComeFromNvtabularsSchemaPbtxtWhenThereIsNoSchemaJson) {
  make_data(Planted::kHint);
  auto dump = [&](const std::string& data) {
    auto r = run_cli("train --data " + q(path(data)) + " --run " + q(path("x")) + " --dump-config");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return json::parse(r.output.substr(r.output.find('{'))).at("model").at("input").at("features");
  };
  std::filesystem::copy(path("data"), path("pbtxt_only"), std::filesystem::copy_options::recursive);
  std::filesystem::remove(path("pbtxt_only/schema.json"));
  const auto from_json = dump("data");
  ASSERT_EQ(from_json.size(), 3u);
  EXPECT_EQ(dump("pbtxt_only"), from_json);
  // One schema, two spellings: a model trained from the pbtxt evaluates on the schema.json folder.
  auto trained = run_cli("train --data " + q(path("pbtxt_only")) + " --run " + q(path("pb")) + " --epochs 1 --d-model 16 --threads 2");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  evaluate("pb");
}

TEST_F(SideFeaturesCliTest, BadFeatureRequestsAreRefusedNamingTheColumn) {
  make_data(Planted::kHint);
  auto r = run_cli("train --data " + q(path("data")) + " --run " + q(path("x")) + " --features hnt-list --dump-config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("'hnt-list' is not a column"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("did you mean 'hint-list'"), std::string::npos) << r.output;
  write("bad_task.yaml", "tasks:\n  - type: binary\n    target: convertd-first\n");
  r = run_cli("train --data " + q(path("data")) + " --run " + q(path("x")) + " --model-config " + q(path("bad_task.yaml")) +
              " --dump-config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("did you mean 'converted-first'"), std::string::npos) << r.output;
  r = run_cli("train --data " + q(path("data")) + " --run " + q(path("x")) + " --features item_id --dump-config");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("item column"), std::string::npos) << r.output;
  // The resolved config carries the schema's cardinality: nothing written by hand.
  r = run_cli("train --data " + q(path("data")) + " --run " + q(path("x")) + " --features hint-list --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto features = json::parse(r.output.substr(r.output.find('{'))).at("model").at("input").at("features");
  ASSERT_EQ(features.size(), 1u);
  EXPECT_EQ(features[0].at("cardinality").get<int64_t>(), 3 + kHints);
}

}  // namespace
}  // namespace seqrec
