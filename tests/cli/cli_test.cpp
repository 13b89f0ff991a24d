#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {

class CliTest : public test::TempDirTest {
 protected:
  std::string q(const std::filesystem::path& p) const { return "'" + p.string() + "'"; }
  /// synth -> etl -> train, one epoch, as a user would run it.
  void build_pipeline() {
    ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 400 --items 60 --days 3 --seed 5").exit_code, 0);
    auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")) + " --drop-repeats");
    ASSERT_EQ(etl.exit_code, 0) << etl.output;
    auto train = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) +
                               " --d-model 16 --heads 2 --layers 1 --epochs 1 --threads 1");
    ASSERT_EQ(train.exit_code, 0) << train.output;
  }
};

TEST_F(CliTest, EndToEndSynthEtlTrainEvaluatePredict) {
  build_pipeline();
  auto eval = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --json " + q(path("m.json")));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("popularity"), std::string::npos) << eval.output;
  EXPECT_NE(eval.output.find("ndcg@20"), std::string::npos) << eval.output;
  auto j = nlohmann::json::parse(read_text_file(path("m.json")));
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][1]["name"], "popularity");
  for (const auto& r : j["results"])
    for (const char* m : {"ndcg@10", "recall@10", "mrr@10", "ndcg@20", "recall@20", "mrr@20"}) {
      double v = r["metrics"][m];
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }

  write("request.csv", "session_id,item_id,timestamp\nu1,100001,1704067200\nu1,100002,1704067260\nu2,unknown-item,1704067200\n");
  auto csv = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --input " + q(path("request.csv")) +
                           " --top-k 3 --out " + q(path("recs.csv")));
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  auto text = read_text_file(path("recs.csv"));
  EXPECT_EQ(text.rfind("session_id,rank,item_id,score\n", 0), 0u) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 2 * 3) << text;
  EXPECT_NE(text.find("u2,3,"), std::string::npos) << text;
  auto json = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --input " + q(path("request.csv")) +
                            " --top-k 2 --format json --out " + q(path("recs.json")));
  ASSERT_EQ(json.exit_code, 0) << json.output;
  auto recs = nlohmann::json::parse(read_text_file(path("recs.json")));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["session_id"], "u1");
  EXPECT_EQ(recs[0]["item_ids"].size(), 2u);
}

TEST_F(CliTest, HybridWithSessionKnnIsEvaluatedAndServedAlike) {
  build_pipeline();
  // Weight 0 is the model's own ranking (softmax keeps the order); weight 0.5 is its own row.
  for (const char* weight : {"0", "0.5"}) {
    auto eval = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) +
                              " --baselines sknn --hybrid-sknn " + weight + " --json " + q(path("h.json")));
    ASSERT_EQ(eval.exit_code, 0) << eval.output;
    auto j = nlohmann::json::parse(read_text_file(path("h.json")));
    ASSERT_EQ(j["results"].size(), 3u);
    EXPECT_EQ(j["results"][1]["name"], "gpt2+sknn");
    EXPECT_EQ(j["results"][2]["name"], "sknn");
    if (std::string(weight) == "0") {
      for (const char* m : {"recall@20", "mrr@20", "ndcg@10"}) {
        EXPECT_NEAR(j["results"][1]["metrics"][m].get<double>(), j["results"][0]["metrics"][m].get<double>(), 1e-9) << m;
      }
    }
  }
  // STAN's kNN flags change the hybrid's kNN only: the sknn baseline stays V-SkNN.
  const std::string stan = " --sknn-prefix-decay 1 --sknn-neighbor-decay 2 --sknn-idf 1";
  auto plain_eval = nlohmann::json::parse(read_text_file(path("h.json")));
  auto eval = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) +
                            " --baselines sknn --hybrid-sknn 0.5" + stan + " --json " + q(path("s.json")));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  auto j = nlohmann::json::parse(read_text_file(path("s.json")));
  EXPECT_EQ(j["results"][2]["metrics"], plain_eval["results"][2]["metrics"]);
  EXPECT_NE(j["results"][1]["metrics"], plain_eval["results"][1]["metrics"]);
  auto bad = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --sknn-idf -1");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--sknn-idf"), std::string::npos) << bad.output;
  // An ensemble of the model with itself ranks as the model does; its rows say how many models it averages.
  auto self = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --ensemble " + q(path("run")) +
                            " --baselines none --json " + q(path("e.json")));
  ASSERT_EQ(self.exit_code, 0) << self.output;
  auto e = nlohmann::json::parse(read_text_file(path("e.json")));
  EXPECT_EQ(e["results"][0]["name"], "gpt2x2");
  for (const char* m : {"recall@20", "mrr@20", "ndcg@10"})
    EXPECT_NEAR(e["results"][0]["metrics"][m].get<double>(), j["results"][0]["metrics"][m].get<double>(), 1e-9) << m;
  // A bundle exported with the hybrid predicts what predict --data --run --hybrid-sknn predicts.
  auto exported = test::run_cli("export --data " + q(path("data")) + " --run " + q(path("run")) + " --out " + q(path("bundle")) +
                                " --hybrid-sknn 0.5" + stan + " --ensemble " + q(path("run")));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  write("request.csv", "session_id,item_id,timestamp\nu1,100001,1704067200\nu1,100002,1704067260\n");
  auto served = test::run_cli("predict --bundle " + q(path("bundle")) + " --input " + q(path("request.csv")) + " --out " +
                              q(path("a.csv")));
  auto offline = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --hybrid-sknn 0.5" + stan + " --ensemble " + q(path("run")) + " --input " +
                               q(path("request.csv")) + " --out " + q(path("b.csv")));
  ASSERT_EQ(served.exit_code, 0) << served.output;
  ASSERT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_EQ(read_text_file(path("a.csv")), read_text_file(path("b.csv")));
  auto plain = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --input " +
                             q(path("request.csv")) + " --out " + q(path("c.csv")));
  EXPECT_NE(read_text_file(path("a.csv")), read_text_file(path("c.csv"))) << "the hybrid's scores are probabilities";
}

TEST_F(CliTest, MissingInputFileIsNamed) {
  auto r = test::run_cli("etl --input " + q(path("nope.csv")) + " --out " + q(path("out")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: file '" + path("nope.csv").string() + "' does not exist"), std::string::npos) << r.output;
}

TEST_F(CliTest, MissingColumnIsNamedWithTheFile) {
  write("e.csv", "sid,item_id,timestamp\n1,a,1\n");
  auto r = test::run_cli("etl --input " + q(path("e.csv")) + " --out " + q(path("out")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("e.csv:1: no column named 'session_id'"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(path("out/sessions")));
}

TEST_F(CliTest, UnparsableTimestampNamesLineAndColumn) {
  write("e.csv", "session_id,item_id,timestamp\n1,a,1\n1,b,2024-99-99\n");
  auto r = test::run_cli("etl --input " + q(path("e.csv")) + " --out " + q(path("out")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("e.csv:3:3: column 'timestamp': cannot parse '2024-99-99'"), std::string::npos) << r.output;
}

TEST_F(CliTest, EmptyFileIsAnError) {
  write("empty.csv", "");
  auto r = test::run_cli("etl --input " + q(path("empty.csv")) + " --out " + q(path("out")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("the file is empty"), std::string::npos) << r.output;
  write("header.csv", "session_id,item_id,timestamp\n");
  r = test::run_cli("etl --input " + q(path("header.csv")) + " --out " + q(path("out")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("header only"), std::string::npos) << r.output;
}

TEST_F(CliTest, NonPositiveKIsAnErrorNamingTheOption) {
  build_pipeline();
  auto r = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --k 10,0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--k must be > 0"), std::string::npos) << r.output;
  write("request.csv", "session_id,item_id,timestamp\nu1,100001,1704067200\n");
  r = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --input " + q(path("request.csv")) + " --top-k 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--top-k must be > 0"), std::string::npos) << r.output;
}

TEST_F(CliTest, CheckpointFromAnotherSchemaIsRefused) {
  build_pipeline();
  // Other data: a different catalogue, so a different schema.
  ASSERT_EQ(test::run_cli("synth --out " + q(path("other.csv")) + " --sessions 300 --items 90 --days 3 --seed 9").exit_code, 0);
  ASSERT_EQ(test::run_cli("etl --input " + q(path("other.csv")) + " --out " + q(path("other"))).exit_code, 0);
  auto r = test::run_cli("evaluate --data " + q(path("other")) + " --run " + q(path("run")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("was trained on another schema"), std::string::npos) << r.output;
}

TEST_F(CliTest, VersionNamesLibTorchAndTheCudaBuild) {
  auto r = test::run_cli("--version");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("seqrec ", 0), 0u) << r.output;
  for (const char* line : {"\nLibTorch 2.", "\nCUDA: ", "\nGPUs visible: ", "\nBLAS: ", "\nthreads: intra-op "})
    EXPECT_NE(r.output.find(line), std::string::npos) << line << " in " << r.output;
}

TEST_F(CliTest, DeviceAndPrecisionThatCannotRunExitOneWithAMessage) {
  build_pipeline();
  const std::string train = "train --data " + q(path("data")) + " --run " + q(path("run2")) + " --d-model 16 --heads 2 --layers 1 --epochs 1 --threads 1";
  const bool has_gpu = test::run_cli("--version").output.find("GPUs visible: 0") == std::string::npos;
  if (!has_gpu) {
    for (const char* device : {"cuda", "cuda:3"}) {
      auto r = test::run_cli(train + " --device " + device);
      EXPECT_EQ(r.exit_code, 1) << r.output;
      EXPECT_NE(r.output.find(std::string("error: --device ") + device + ":"), std::string::npos) << r.output;
    }
    auto served = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --device cuda");
    EXPECT_EQ(served.exit_code, 1) << served.output;
  }
  auto bf16 = test::run_cli(train + " --precision bf16", "SEQREC_CPU_BF16=0");
  EXPECT_EQ(bf16.exit_code, 1) << bf16.output;
  EXPECT_NE(bf16.output.find("--precision bf16: this CPU has no bf16"), std::string::npos) << bf16.output;
  auto fp16 = test::run_cli(train + " --precision fp16");
  EXPECT_EQ(fp16.exit_code, 1) << fp16.output;
  EXPECT_NE(fp16.output.find("precision (--precision) must be fp32 or bf16, got 'fp16'"), std::string::npos) << fp16.output;
  // Where the CPU computes bf16, a bf16 run trains, records its precision and evaluates like any other.
  auto ok = test::run_cli(train + " --precision bf16", "SEQREC_CPU_BF16=1");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto config = nlohmann::json::parse(read_text_file(path("run2") / "config.json"));
  EXPECT_EQ(config["train"]["precision"], "bf16");
  auto eval = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run2")));
  EXPECT_EQ(eval.exit_code, 0) << eval.output;
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  auto r = test::run_cli("train --epochs 3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--data"), std::string::npos) << r.output;
}

TEST_F(CliTest, WithoutAValidSplitTheKeptCheckpointIsNamedByItsTrainingLoss) {
  ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 300 --items 40 --days 3 --seed 5").exit_code, 0);
  auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")) + " --valid-days 0");
  ASSERT_EQ(etl.exit_code, 0) << etl.output;
  auto train = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) +
                             " --d-model 16 --heads 2 --layers 1 --epochs 1 --threads 1");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const auto at = train.output.find("best at step");
  ASSERT_NE(at, std::string::npos) << train.output;
  const auto line = train.output.substr(at, train.output.find('\n', at) - at);
  EXPECT_NE(line.find("training loss "), std::string::npos) << line;
  EXPECT_EQ(line.find("ndcg@"), std::string::npos) << line;
  EXPECT_EQ(line.find(" -"), std::string::npos) << "a loss is printed as it is, not negated: " << line;
}

TEST_F(CliTest, HashedOovBucketsAreNeverRankedAsItems) {
  // Categorify hashes rare items into 4 OOV buckets (ids 2..5): real items start at 6, and no command ranks 2..5.
  ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 400 --items 80 --days 3 --seed 5").exit_code, 0);
  write("workflow.json", R"({
    "input": {"columns": {"session_id": {"type": "string", "required": true}, "item_id": "string",
                          "timestamp": {"type": "timestamp", "required": true}}},
    "steps": [{"op": "Categorify", "columns": ["item_id"], "freq_threshold": 4, "num_buckets": 4},
              {"op": "Groupby", "by": "session_id", "sort": ["timestamp"],
               "aggs": {"item_id": ["list"], "timestamp": ["list", "first"]}},
              {"op": "ListSlice", "columns": ["item_id-list", "timestamp-list"], "last": 20},
              {"op": "Filter", "where": {"column": "item_id-list", "op": ">=", "value": 2}}],
    "output": {"session_id": "session_id", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"},
    "split": {"method": "time", "valid_days": 1, "test_days": 1}})");
  auto etl = test::run_cli("etl run --workflow " + q(path("workflow.json")) + " --input " + q(path("events.csv")) + " --out " + q(path("data")));
  ASSERT_EQ(etl.exit_code, 0) << etl.output;
  const auto schema = nlohmann::json::parse(read_text_file(path("data/schema.json")));
  int64_t first = 0, cardinality = 0;
  for (const auto& c : schema["columns"])
    if (c["name"] == "item_id") first = c["first_value_id"], cardinality = c["int_domain"]["max"].get<int64_t>() + 1;
  ASSERT_EQ(first, 6);
  auto train = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) +
                             " --d-model 16 --heads 2 --layers 1 --epochs 1 --threads 1");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  // Every session's full ranking: exactly the real items, no reserved or bucket id among them.
  auto predict = test::run_cli("predict --data " + q(path("data")) + " --run " + q(path("run")) + " --input " + q(path("events.csv")) +
                               " --top-k 1000 --format json --out " + q(path("top.json")));
  ASSERT_EQ(predict.exit_code, 0) << predict.output;
  const auto top = nlohmann::json::parse(read_text_file(path("top.json")));
  ASSERT_FALSE(top.empty());
  for (const auto& session : top) {
    ASSERT_EQ(static_cast<int64_t>(session["item_ids"].size()), cardinality - first) << session["session_id"];
    for (const auto& item : session["item_ids"]) EXPECT_EQ(item.get<std::string>().find('<'), std::string::npos) << item;
  }
  // The evaluation counts the catalogue from the first real id too.
  auto eval = test::run_cli("evaluate --data " + q(path("data")) + " --run " + q(path("run")) + " --baselines popularity,markov,sknn");
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_NE(eval.output.find("over " + std::to_string(cardinality - first) + " catalogue items"), std::string::npos) << eval.output;
}

TEST_F(CliTest, EveryTrainFlagIsTheKebabCaseTwinOfAConfigKey) {
  build_pipeline();
  auto help = test::run_cli("train --help");
  ASSERT_EQ(help.exit_code, 0) << help.output;
  auto dumped = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run2")) + " --dump-config");
  ASSERT_EQ(dumped.exit_code, 0) << dumped.output;
  const auto config = nlohmann::json::parse(dumped.output.substr(dumped.output.find('{')));
  // Flags that are not options of the model or the training: where the data and run are, how the command runs, and
  // --features, which picks schema columns that become model.input.features entries.
  const std::set<std::string> not_config = {"help", "data", "run", "train-config", "model-config", "resume", "dump-config", "features",
                                            "time-windows", "window-eval-split", "max-windows", "threads", "device"};
  std::istringstream lines(help.output);
  std::string line;
  int checked = 0;
  while (std::getline(lines, line)) {
    const auto at = line.find("--");
    if (at == std::string::npos || line.substr(0, at).find_first_not_of(" -,abcdefghijklmnopqrstuvwxyz") != std::string::npos) continue;
    std::string flag;
    for (size_t i = at + 2; i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '-'); ++i) flag += line[i];
    if (flag.empty() || not_config.count(flag)) continue;
    std::string key = flag;
    std::replace(key.begin(), key.end(), '-', '_');
    EXPECT_TRUE(config["model"].contains(key) || config["train"].contains(key)) << "--" << flag << " has no config key " << key;
    ++checked;
  }
  EXPECT_GE(checked, 30) << help.output;
}

}  // namespace seqrec
