// The README's promises checked as a user runs them (issue 28's findings): Select, inspect on every artifact,
// evaluate --json - as pure JSON, timestamps written back in their own unit, rejects.tsv, and unknown keys or
// contradictory options refused by every option source with the file, the key and the nearest known key.
#include <nlohmann/json.hpp>

#include "seqrec/common/io.h"
#include "support.h"

namespace seqrec {

class CliStrictnessTest : public test::TempDirTest {
 protected:
  std::string q(const std::filesystem::path& p) const { return "'" + p.string() + "'"; }
  void make_data(const std::string& extra_etl_flags = "") {
    ASSERT_EQ(test::run_cli("synth --out " + q(path("events.csv")) + " --sessions 300 --items 40 --days 3 --seed 3").exit_code, 0);
    auto etl = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("data")) + " " + extra_etl_flags);
    ASSERT_EQ(etl.exit_code, 0) << etl.output;
  }
  /// etl export-csv of every split of the ETL output `data`, decoded by its workflow.
  std::string exported(const std::string& data) {
    std::string all;
    for (const char* split : {"train", "valid", "test"}) {
      auto r = test::run_cli("etl export-csv --sessions " + q(path(data + "/sessions/" + split)) + " --workflow " +
                             q(path(data + "/workflow")) + " 2>/dev/null");
      EXPECT_EQ(r.exit_code, 0) << r.output;
      all += r.output;
    }
    return all;
  }
  test::CliResult train(const std::string& flags) {
    return test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --threads 1 " + flags);
  }
};

TEST_F(CliStrictnessTest, SelectKeepsExactlyTheListedColumns) {
  write("e.csv", "session_id,item_id,timestamp,price\ns1,a,100,1.5\ns1,b,160,2\ns2,a,200,3\ns2,c,260,4\ns3,b,300,1\ns3,a,360,2\n");
  write("wf.json", R"({"input": {"columns": {"session_id": "string", "item_id": "string", "timestamp": {"type": "timestamp", "format": "s"},
                                 "price": "float"}},
    "steps": [{"op": "Categorify", "columns": ["item_id"]},
              {"op": "Select", "columns": ["session_id", "item_id", "timestamp"]},
              {"op": "Groupby", "by": "session_id", "sort": ["timestamp"], "aggs": {"item_id": ["list"], "timestamp": ["list", "first"]}}],
    "output": {"session_id": "session_id", "item": "item_id-list", "timestamp": "timestamp-list", "time": "timestamp-first"},
    "split": {"method": "random", "valid_fraction": 0, "test_fraction": 0.3}})");
  auto r = test::run_cli("etl run --workflow " + q(path("wf.json")) + " --input " + q(path("e.csv")) + " --out " + q(path("out")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int64_t rows = 0;
  for (const char* split : {"train", "valid", "test"}) {
    auto manifest = nlohmann::json::parse(read_text_file(path("out/sessions/" + std::string(split) + "/manifest.json")));
    rows += manifest["rows"].get<int64_t>();
    for (const auto& column : manifest["columns"]) EXPECT_EQ(column["name"].get<std::string>().find("price"), std::string::npos);
  }
  EXPECT_EQ(rows, 3);
  // A column Select dropped is named when a later step still needs it.
  write("wf2.json", R"({"input": {"columns": {"session_id": "string", "item_id": "string", "price": "float"}},
    "steps": [{"op": "Select", "columns": ["session_id", "item_id"]}, {"op": "LogOp", "columns": ["price"]},
              {"op": "Groupby", "by": "session_id", "aggs": {"item_id": ["list"]}}],
    "output": {"session_id": "session_id", "item": "item_id-list"}})");
  auto gone = test::run_cli("etl run --workflow " + q(path("wf2.json")) + " --input " + q(path("e.csv")) + " --out " + q(path("out2")));
  EXPECT_EQ(gone.exit_code, 1) << gone.output;
  EXPECT_NE(gone.output.find("no column 'price'"), std::string::npos) << gone.output;
}

TEST_F(CliStrictnessTest, InspectKnowsSessionsFoldersTransformOutputsAndWindows) {
  make_data("--valid-days 1 --test-days 1");
  auto split = test::run_cli("inspect " + q(path("data/sessions/train")));
  ASSERT_EQ(split.exit_code, 0) << split.output;
  EXPECT_EQ(nlohmann::json::parse(split.output)["kind"], "sessions");
  EXPECT_EQ(nlohmann::json::parse(test::run_cli("inspect " + q(path("data/workflow"))).output)["kind"], "workflow");
  EXPECT_EQ(nlohmann::json::parse(test::run_cli("inspect " + q(path("data/schema.json"))).output)["kind"], "schema");
  auto transformed = test::run_cli("etl transform --workflow " + q(path("data/workflow")) + " --input " + q(path("events.csv")) +
                                   " --out " + q(path("again")));
  ASSERT_EQ(transformed.exit_code, 0) << transformed.output;
  auto again = nlohmann::json::parse(test::run_cli("inspect " + q(path("again"))).output);
  EXPECT_EQ(again["kind"], "data");
  EXPECT_EQ(again["splits"].size(), 3u);
  EXPECT_EQ(again.count("workflow"), 0u);  // etl transform writes no workflow/ beside its sessions

  auto windowed = test::run_cli("etl run --workflow " + q(std::filesystem::path(SEQREC_SOURCE_DIR) / "configs/etl/t4rec_session_pipeline.json") + " --input " + q(path("events.csv")) +
                                " --out " + q(path("windows")));
  ASSERT_EQ(windowed.exit_code, 0) << windowed.output;
  auto w = nlohmann::json::parse(test::run_cli("inspect " + q(path("windows"))).output);
  EXPECT_TRUE(w["splits"].contains("day-0001/train")) << w["splits"].dump();
  EXPECT_TRUE(w.contains("windows"));
  EXPECT_EQ(w["workflow"].count("options"), 0u);  // a workflow file's spec, not the etl flags' defaults
  auto day = test::run_cli("inspect " + q(path("windows/sessions/day-0002/valid")));
  EXPECT_EQ(day.exit_code, 0) << day.output;
}

TEST_F(CliStrictnessTest, EvaluateJsonToStdoutIsOnlyJsonAndCoverageIsAtEveryK) {
  make_data();
  auto r = test::run_cli("evaluate --data " + q(path("data")) + " --baselines popularity,markov --k 5,10 --json -", "",
                         path("stderr.txt").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(read_text_file(path("stderr.txt")).find("protocol: last-item"), std::string::npos);  // the table
  auto j = nlohmann::json::parse(r.output);  // throws if the table were mixed in
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_TRUE(j["results"][0]["metrics"].contains("coverage@5"));
  EXPECT_TRUE(j["results"][0]["metrics"].contains("coverage@10"));
  EXPECT_LE(j["results"][1]["metrics"]["coverage@5"].get<double>(), j["results"][1]["metrics"]["coverage@10"].get<double>());
}

TEST_F(CliStrictnessTest, ExportCsvWritesTimestampsInTheUnitTheInputHad) {
  write("s.csv", "session_id,item_id,timestamp\nu1,a,1704067200\nu1,b,1704067260\nu2,a,1704067300\nu2,b,1704067400\n"
                 "u3,b,1704067500\nu3,a,1704067600\n");
  ASSERT_EQ(test::run_cli("etl --input " + q(path("s.csv")) + " --out " + q(path("d")) + " --split random --valid-fraction 0 --test-fraction 0.3")
                .exit_code, 0);
  const std::string csv = exported("d");
  EXPECT_NE(csv.find("u1,a b,1704067200 1704067260,"), std::string::npos) << csv;
  write("iso.csv", "session_id,item_id,timestamp\nu1,a,2024-01-01T00:00:00Z\nu1,b,2024-01-01T00:01:00.250Z\n"
                   "u2,a,2024-01-01T00:02:00Z\nu2,b,2024-01-01T00:03:00Z\nu3,b,2024-01-01T00:04:00Z\nu3,a,2024-01-01T00:05:00Z\n");
  ASSERT_EQ(test::run_cli("etl --input " + q(path("iso.csv")) + " --out " + q(path("i")) +
                          " --timestamp-format iso --split random --valid-fraction 0 --test-fraction 0.3")
                .exit_code, 0);
  const std::string iso = exported("i");
  EXPECT_NE(iso.find("2024-01-01T00:00:00Z 2024-01-01T00:01:00.250Z"), std::string::npos) << iso;
}

TEST_F(CliStrictnessTest, RejectsFileHasAFieldColumnAndReasonsThatNameTheColumn) {
  write("bad.csv", "session_id,item_id,timestamp\ns1,a,100\ns1,b,oops\ns1\ns2,a,200\ns2,b,300\ns1,c,160\n"
                   "s3,a,400\ns3,c,500\ns4,b,600\ns4,c,700\n");
  auto r = test::run_cli("etl --input " + q(path("bad.csv")) + " --out " + q(path("d")) +
                         " --on-bad-row quarantine --split random --valid-fraction 0 --test-fraction 0.3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string rejects = read_text_file(path("d/rejects.tsv"));
  EXPECT_EQ(rejects.rfind("file\tline\tfield\treason\trow\n", 0), 0u) << rejects;
  EXPECT_NE(rejects.find("\t3\t3\tcolumn 'timestamp': cannot parse 'oops'"), std::string::npos) << rejects;
  EXPECT_NE(rejects.find("\t4\t\texpected 3 comma-separated fields"), std::string::npos) << rejects;
}

TEST_F(CliStrictnessTest, EveryOptionSourceRefusesUnknownKeysNamingFileKeyAndNearest) {
  make_data();
  // --dump-config validates as train does.
  write("m.yaml", "d_model: 16\nhead:\n  repat_bonus: 1.0\n");
  auto dump = train("--model-config " + q(path("m.yaml")) + " --dump-config");
  EXPECT_EQ(dump.exit_code, 1) << dump.output;
  EXPECT_NE(dump.output.find("m.yaml: unknown key 'head.repat_bonus' (did you mean 'repeat_bonus'?"), std::string::npos)
      << dump.output;
  // --train-config, model and train sections.
  write("t.json", R"({"model": {"num_head": 2}, "train": {"epoch": 1}})");
  auto config = train("--train-config " + q(path("t.json")) + " --dump-config");
  EXPECT_EQ(config.exit_code, 1) << config.output;
  EXPECT_NE(config.output.find("t.json: unknown key 'train.epoch' (did you mean 'epochs'?"), std::string::npos) << config.output;
  // A flag on the command line.
  auto flag = train("--lerning-rate 0.1");
  EXPECT_EQ(flag.exit_code, 2) << flag.output;
  EXPECT_NE(flag.output.find("seqrec train: unknown flag '--lerning-rate' (did you mean '--learning-rate'?)"), std::string::npos)
      << flag.output;
  // The TOML/INI file of --config.
  write("c.toml", "[train]\nepoch = 1\n");
  auto toml = test::run_cli("--config " + q(path("c.toml")) + " train --data " + q(path("data")) + " --run " + q(path("run")) +
                            " --dump-config");
  EXPECT_NE(toml.exit_code, 0) << toml.output;
  EXPECT_NE(toml.output.find("epoch"), std::string::npos) << toml.output;
  EXPECT_NE(toml.output.find("did you mean '--epochs'"), std::string::npos) << toml.output;
  // A workflow file and one of its ops.
  write("wf.json", R"({"input": {"columns": {"session_id": "string", "item_id": "string"}}, "step": [],
                       "output": {"session_id": "session_id", "item": "item_id-list"}})");
  auto wf = test::run_cli("etl fit --workflow " + q(path("wf.json")) + " --input " + q(path("events.csv")) + " --out " + q(path("w")));
  EXPECT_EQ(wf.exit_code, 1) << wf.output;
  EXPECT_NE(wf.output.find("unknown key 'step' (did you mean 'steps'?"), std::string::npos) << wf.output;
  write("op.json", R"({"input": {"columns": {"session_id": "string", "item_id": "string"}},
                       "steps": [{"op": "Groupby", "by": "session_id", "sort_by": ["item_id"], "aggs": {"item_id": ["list"]}}],
                       "output": {"session_id": "session_id", "item": "item_id-list"}})");
  auto op = test::run_cli("etl fit --workflow " + q(path("op.json")) + " --input " + q(path("events.csv")) + " --out " + q(path("o")));
  EXPECT_EQ(op.exit_code, 1) << op.output;
  EXPECT_NE(op.output.find("unknown key 'sort_by' (did you mean 'sort'?"), std::string::npos) << op.output;
}

TEST_F(CliStrictnessTest, ContradictoryOptionsAreRefusedNotIgnored) {
  make_data();
  auto r = test::run_cli("evaluate --data " + q(path("data")) + " --protocol last-item --holdout-offset 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--holdout-offset 1 needs --protocol leave-one-out"), std::string::npos) << r.output;
  // A named choice outside its set names the flag, the choices and the nearest.
  auto policy = test::run_cli("etl --input " + q(path("events.csv")) + " --out " + q(path("x")) + " --on-bad-row skp");
  EXPECT_EQ(policy.exit_code, 1) << policy.output;
  EXPECT_NE(policy.output.find("--on-bad-row must be error, skip or quarantine, got 'skp' (did you mean 'skip'?)"),
            std::string::npos) << policy.output;
}

}  // namespace seqrec
