// README claims that only unit tests reached before (tests/readme/claims.tsv maps every claim to its CLI test):
// the example model configs, the trainer's knobs, the etl column flags and the ops no shipped workflow runs.
#include <nlohmann/json.hpp>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {

class ReadmeClaimsCliTest : public test::TempDirTest {
 protected:
  std::string q(const std::filesystem::path& p) const { return "'" + p.string() + "'"; }
  static std::filesystem::path source(const std::string& relative) { return std::filesystem::path(SEQREC_SOURCE_DIR) / relative; }
  void make_data() {
    ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 300 --items 40 --days 3 --seed 3").exit_code, 0);
    auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")));
    ASSERT_EQ(etl.exit_code, 0) << etl.output;
  }
  /// What `seqrec inspect RUN/checkpoint.pt` prints.
  nlohmann::json inspected_checkpoint(const std::string& run) {
    auto r = test::run_cli("inspect " + q(path(run + "/checkpoint.pt")));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }
};

TEST_F(ReadmeClaimsCliTest, EveryExampleModelConfigTrainsThroughTheCliWithItsBodyAndMasking) {
  make_data();
  const std::vector<std::tuple<std::string, std::string, std::string>> examples = {
      {"gpt2_clm.yaml", "gpt2", "clm"},         {"sasrec.yaml", "sasrec", "clm"}, {"bert_mlm.yaml", "bert", "mlm"},
      {"albert_mlm.yaml", "albert", "mlm"},     {"electra_rtd.yaml", "electra", "rtd"}, {"xlnet_plm.yaml", "xlnet", "plm"},
      {"transfo_xl_clm.yaml", "transfo_xl", "clm"}, {"gru.yaml", "gru", "clm"},   {"lstm.yaml", "lstm", "clm"}};
  for (const auto& [file, body, masking] : examples) {
    const std::string run = "run_" + body;
    auto r = test::run_cli("train --data " + q(path("data")) + " --run " + q(path(run)) + " --model-config " +
                           q(source("configs/models/" + file)) + " --d-model 16 --num-heads 2 --num-layers 1 --max-steps 3 --threads 1");
    ASSERT_EQ(r.exit_code, 0) << file << "\n" << r.output;
    const auto checkpoint = inspected_checkpoint(run);
    EXPECT_EQ(checkpoint["kind"], "checkpoint");
    EXPECT_EQ(checkpoint["meta"]["model"]["architecture"], body) << file;
    auto resolved = test::run_cli("inspect " + q(source("configs/models/" + file)));
    ASSERT_EQ(resolved.exit_code, 0) << resolved.output;
    EXPECT_EQ(nlohmann::json::parse(resolved.output)["resolved"]["masking"]["scheme"], masking) << file;
  }
}

TEST_F(ReadmeClaimsCliTest, TrainerKnobsReachTheRunAsGiven) {
  make_data();
  auto r = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) +
                         " --d-model 16 --num-heads 2 --num-layers 1 --epochs 3 --threads 2 --optimizer adam --schedule cosine"
                         " --warmup-steps 2 --clip-grad-norm 1.0 --accumulation-steps 2 --bucket-by-length --replicas 2"
                         " --patience 1 --select-metric recall@10 --max-length 12 --max-seconds 600");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto config = nlohmann::json::parse(read_text_file(path("run/config.json")));
  EXPECT_EQ(config["train"]["optimizer"], "adam");
  EXPECT_EQ(config["train"]["schedule"], "cosine");
  EXPECT_EQ(config["train"]["warmup_steps"], 2);
  EXPECT_DOUBLE_EQ(config["train"]["clip_grad_norm"].get<double>(), 1.0);
  EXPECT_EQ(config["train"]["accumulation_steps"], 2);
  EXPECT_EQ(config["train"]["bucket_by_length"], true);
  EXPECT_EQ(config["train"]["replicas"], 2);
  EXPECT_EQ(config["train"]["patience"], 1);
  EXPECT_EQ(config["train"]["select_metric"], "recall@10");
  EXPECT_EQ(config["model"]["max_length"], 12);
  EXPECT_DOUBLE_EQ(config["train"]["max_seconds"].get<double>(), 600.0);
  // One valid line per epoch at most: patience may stop it early, never late.
  const std::string metrics = read_text_file(path("run/metrics.jsonl"));
  EXPECT_NE(metrics.find("recall@10"), std::string::npos);
}

TEST_F(ReadmeClaimsCliTest, TimeWindowsEvaluateTheSplitAsked) {
  ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 400 --items 40 --days 3 --seed 4").exit_code, 0);
  auto etl = test::run_cli("etl run --workflow " + q(source("configs/etl/t4rec_session_pipeline.json")) + " --input " +
                           q(path("events.csv")) + " --out " + q(path("windowed")));
  ASSERT_EQ(etl.exit_code, 0) << etl.output;
  auto r = test::run_cli("train --data " + q(path("windowed")) + " --run " + q(path("w")) +
                         " --time-windows --window-eval-split test --d-model 16 --num-heads 2 --num-layers 1 --epochs 1 --threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Last-item evaluation makes one prediction per session: the counts are those of each next day's test split.
  auto windows = nlohmann::json::parse(read_text_file(path("w/windows.json")));
  ASSERT_EQ(windows["windows"].size(), 2u) << windows.dump();
  for (const auto& window : windows["windows"]) {
    const std::string day = window["eval_window"];
    auto test_split = nlohmann::json::parse(read_text_file(path("windowed/sessions/" + day + "/test/manifest.json")));
    auto valid_split = nlohmann::json::parse(read_text_file(path("windowed/sessions/" + day + "/valid/manifest.json")));
    EXPECT_EQ(window["evaluation"]["predictions"], test_split["rows"]) << day;
    EXPECT_NE(test_split["rows"], valid_split["rows"]) << day << ": pick a seed whose splits differ";
  }
}

TEST_F(ReadmeClaimsCliTest, EtlColumnFlagsReadDateColumnsAndClickOrder) {
  // UCI's layout: a date over three columns, the click order, other column names; a rare item and a short session.
  write("clicks.csv",
        "year;month;day;order;sid;page\n"
        "2008;4;1;1;1;A\n2008;4;1;2;1;B\n2008;4;1;3;1;A\n2008;4;1;4;1;C\n"
        "2008;4;2;1;2;B\n2008;4;2;2;2;C\n2008;4;2;3;2;A\n"
        "2008;4;3;1;3;A\n2008;4;3;2;3;RARE\n2008;4;3;3;3;B\n2008;4;3;4;3;C\n"
        "2008;4;4;1;4;C\n2008;4;4;2;4;A\n");
  auto r = test::run_cli("etl --input " + q(path("clicks.csv")) + " --out " + q(path("d")) +
                         " --session-col sid --item-col page --date-cols year,month,day --order-col order"
                         " --min-item-freq 2 --min-length 3 --valid-days 1 --test-days 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string all;
  for (const char* split : {"train", "valid", "test"})
    all += test::run_cli("etl export-csv --sessions " + q(path(std::string("d/sessions/") + split)) + " --workflow " +
                         q(path("d/workflow")) + " 2>/dev/null").output;
  EXPECT_NE(all.find("1,A B A C,"), std::string::npos) << all;   // the click order within the day
  EXPECT_NE(all.find("3,A <oov> B C,"), std::string::npos) << all;  // RARE is below --min-item-freq 2
  EXPECT_EQ(all.find("\n4,"), std::string::npos) << all;          // 2 clicks < --min-length 3
  // --timestamp-col names the timestamp of a file whose column is called otherwise.
  write("t.csv", "sid,page,when\ns1,A,1704067200\ns1,B,1704067260\ns2,A,1704153600\ns2,C,1704153660\ns3,B,1704240000\ns3,A,1704240060\n");
  auto t = test::run_cli("etl --input " + q(path("t.csv")) + " --out " + q(path("t")) +
                         " --session-col sid --item-col page --timestamp-col when --valid-days 1 --test-days 1");
  EXPECT_EQ(t.exit_code, 0) << t.output;
}

TEST_F(ReadmeClaimsCliTest, WorkflowOpsNoShippedWorkflowRunsWorkThroughEtlRun) {
  write("e.csv", "sid,page,price,y,m,d,n,shop\n"
                 "s1,A,10,2024,1,1,1,x\ns1,B,,2024,1,1,2,y\ns1,C,300,2024,1,1,3,\n"
                 "s2,A,20,2024,1,2,1,x\ns2,C,40,2024,1,2,2,x\ns3,B,5,2024,1,3,1,y\ns3,A,7,2024,1,3,2,y\n");
  write("wf.json", R"({"input": {"columns": {"sid": "string", "page": "string", "price": "float", "y": "int", "m": "int",
                                  "d": "int", "n": "int", "shop": "string"}},
    "steps": [
      {"op": "MakeTimestamp", "year": "y", "month": "m", "day": "d", "seconds": "n", "out": "timestamp"},
      {"op": "Rename", "mapping": {"page": "item_id"}},
      {"op": "Dropna", "columns": ["shop"]},
      {"op": "Categorify", "columns": ["item_id"]},
      {"op": "HashBucket", "columns": ["shop"], "num_buckets": 4, "out": ["shop_hash"]},
      {"op": "Clip", "columns": ["price"], "min_value": 0, "max_value": 100, "out": ["price_clipped"]},
      {"op": "Bucketize", "columns": ["price_clipped"], "boundaries": [10, 50], "out": ["price_bucket"]},
      {"op": "NormalizeMinMax", "columns": ["price_clipped"]},
      {"op": "Groupby", "by": "sid", "sort": ["timestamp"], "aggs": {"item_id": ["list"], "timestamp": ["list", "first"],
        "shop_hash": ["list"], "price_bucket": ["list"], "price_clipped": ["list"]}}],
    "output": {"session_id": "sid", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"},
    "split": {"method": "random", "valid_fraction": 0, "test_fraction": 0.3}})");
  auto r = test::run_cli("etl run --workflow " + q(path("wf.json")) + " --input " + q(path("e.csv")) + " --out " + q(path("out")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string schema = read_text_file(path("out/schema.json"));
  for (const char* column : {"shop_hash", "price_bucket", "price_clipped"}) EXPECT_NE(schema.find(column), std::string::npos) << column;
  auto workflow = test::run_cli("etl inspect " + q(path("out/workflow")));
  ASSERT_EQ(workflow.exit_code, 0) << workflow.output;
  // s1's third click has no shop: Dropna removed the row.
  EXPECT_NE(workflow.output.find("Dropna"), std::string::npos);
  int64_t events = 0;
  for (const char* split : {"train", "valid", "test"})
    events += nlohmann::json::parse(read_text_file(path(std::string("out/sessions/") + split + "/manifest.json")))["values"].get<int64_t>();
  EXPECT_EQ(events, 6);
}

}  // namespace seqrec
