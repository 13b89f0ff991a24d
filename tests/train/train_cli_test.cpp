#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "seqrec/schema/session_dataset.h"
#include "seqrec/schema/schema.h"
#include "support.h"

namespace seqrec::train {

namespace {
std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

test::CliResult run_shell(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

/// A data folder (schema.json + sessions/{train,valid,test}) of random sessions over ids 3..29, written without ETL.
void write_data(const std::filesystem::path& dir) {
  std::mt19937_64 rng(5);
  for (const char* split : {"train", "valid", "test"}) {
    schema::SessionTable t;
    for (int s = 0; s < 120; ++s) {
      std::vector<int64_t> items, times;
      for (int i = 0, n = 2 + static_cast<int>(rng() % 5); i < n; ++i) {
        items.push_back(3 + static_cast<int64_t>(rng() % 27));
        times.push_back(s * 100 + i);
      }
      t.append(std::string(split) + std::to_string(s), items, times);
    }
    schema::write_sessions(t, dir / "sessions" / split);
  }
  schema::Schema schema;
  schema::ColumnSchema item{"item_id", "int64", true, {"item", "id", "categorical", "list", "target"}};
  item.cardinality = 30;
  schema.columns.push_back(item);
  schema.save(dir / "schema.json");
}
}  // namespace

using TrainCliTest = test::TempDirTest;

TEST_F(TrainCliTest, ConfigFileFlagsOverrideItAndDumpConfigShowsTheResult) {
  write_data(path("data"));
  write("c.json", R"({"model": {"d_model": 8, "num_layers": 1}, "train": {"learning_rate": 0.5, "schedule": "cosine"},
                      "evaluate": {"protocol": "every-prefix"}})");
  auto r = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --train-config " +
                         q(path("c.json")) + " --lr 0.25 --dump-config");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["model"]["d_model"], 8);
  EXPECT_EQ(j["train"]["schedule"], "cosine");
  EXPECT_DOUBLE_EQ(j["train"]["learning_rate"].get<double>(), 0.25);  // the flag wins over the file
  write("bad.json", R"({"train": {"learning_rat": 0.5}})");
  auto bad = test::run_cli("train --data " + q(path("data")) + " --run " + q(path("run")) + " --train-config " + q(path("bad.json")));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("bad.json: unknown key 'train.learning_rat' (did you mean 'learning_rate'?"), std::string::npos) << bad.output;
}

TEST_F(TrainCliTest, SigtermSavesTheStateExitsWith143AndResumeFinishes) {
  write_data(path("data"));
  const std::string base = "train --data " + q(path("data")) + " --run " + q(path("run")) +
                           " --d-model 8 --heads 1 --layers 1 --batch-size 4 --eval-every 0 --threads 1";
  // SIGTERM once the first step is logged, of far more steps than any machine finishes: always mid-run.
  auto stopped = run_shell("(" + std::string(SEQREC_CLI_PATH) + " " + base + " --max-steps 100000000 --log-every 1 & pid=$!; " +
                           "until grep -q '\"type\":\"train\"' " + q(path("run/metrics.jsonl")) + " 2>/dev/null || ! kill -0 $pid; do sleep 0.05; done; " +
                           "kill -TERM $pid; wait $pid)");
  EXPECT_EQ(stopped.exit_code, 128 + 15) << stopped.output;
  EXPECT_NE(stopped.output.find("state saved in"), std::string::npos) << stopped.output;
  ASSERT_TRUE(std::filesystem::exists(path("run/last.pt")));
  auto resumed = test::run_cli(base + " --max-steps 1 --resume");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming"), std::string::npos) << resumed.output;
  EXPECT_TRUE(std::filesystem::exists(path("run/report.html")));
}

TEST_F(TrainCliTest, EvaluatePrintsTheProtocolAndBaselinesAndLabelsSampledResults) {
  write_data(path("data"));
  auto full = test::run_cli("evaluate --data " + q(path("data")) + " --protocol every-prefix --exclude-seen --k 5 --baselines popularity,markov,sknn");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_NE(full.output.find("protocol: every-prefix, full ranking, seen items excluded"), std::string::npos) << full.output;
  for (const char* name : {"popularity", "markov", "sknn", "coverage@5"})
    EXPECT_NE(full.output.find(name), std::string::npos) << name;
  auto sampled = test::run_cli("evaluate --data " + q(path("data")) + " --baselines popularity --sampled-negatives 5 --json -");
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  EXPECT_NE(sampled.output.find("5 sampled negatives (sampled"), std::string::npos) << sampled.output;
  EXPECT_NE(sampled.output.find("\"sampled\": true"), std::string::npos) << sampled.output;
  auto bad = test::run_cli("evaluate --data " + q(path("data")) + " --baselines pop");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("unknown baseline 'pop'"), std::string::npos) << bad.output;
}

}  // namespace seqrec::train
