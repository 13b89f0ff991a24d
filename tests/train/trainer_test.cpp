#include "seqrec/train/trainer.h"

#include <fstream>

#include "seqrec/common/error.h"
#include "seqrec/etl/synth.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/popularity.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/checkpoint.h"
#include "support.h"

namespace seqrec::train {

namespace {
/// Synthetic sessions where the next item follows a hidden successor 90% of the time.
std::filesystem::path make_planted_data(const std::filesystem::path& dir) {
  etl::SynthOptions synth;
  synth.sessions = 3000;
  synth.items = 200;
  synth.categories = 10;
  synth.days = 5;
  synth.follow_probability = 0.9;
  synth.seed = 3;
  {
    std::ofstream out(dir / "events.csv");
    etl::write_synth_events(synth, out);
  }
  etl::WorkflowOptions options;
  options.split.method = "random";
  options.split.valid_fraction = 0.1;
  options.split.test_fraction = 0.1;
  etl::run_etl({(dir / "events.csv").string()}, options, dir / "data");
  return dir / "data";
}

model::ModelConfig small_model(int64_t num_items) {
  model::ModelConfig c;
  c.num_items = num_items;
  c.d_model = 32;
  c.num_heads = 2;
  c.num_layers = 1;
  c.max_length = 20;
  c.dropout = 0.0;
  return c;
}
}  // namespace

using TrainerTest = test::TempDirTest;

TEST_F(TrainerTest, LearnsAPlantedSequentialPatternThatPopularityCannot) {
  auto data = make_planted_data(dir_);
  auto schema = schema::Schema::load(data / "schema.json");
  auto train = etl::read_sessions(data / "sessions/train");
  auto valid = etl::read_sessions(data / "sessions/valid");
  auto test = etl::read_sessions(data / "sessions/test");
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.learning_rate = 3e-3;
  Trainer trainer(small_model(schema.item_column().cardinality), options);
  auto result = trainer.fit(train, valid, dir_ / "run", schema.fingerprint());
  EXPECT_EQ(result.history.size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/checkpoint.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/metrics.jsonl"));

  auto loaded = load_checkpoint(dir_ / "run/checkpoint.pt", c10::Device(c10::kCPU));
  metrics::Evaluator evaluator(metrics::EvaluatorOptions{});
  auto model = loaded.model;
  auto ours = evaluator.evaluate(test, [&](const model::PrefixBatch& b) { return model->next_item_scores(b.items, b.lengths); }, "gpt2");
  model::Popularity popularity(train, schema.item_column().cardinality, c10::Device(c10::kCPU));
  auto baseline = evaluator.evaluate(test, [&](const model::PrefixBatch& b) { return popularity.scores(b.items.size(0)); }, "pop");
  // 90% of next items follow the hidden successor: a model that learned it ranks it near the top.
  EXPECT_GT(ours.metrics["recall@10"], 0.8) << "model recall@10 " << ours.metrics["recall@10"];
  EXPECT_LT(baseline.metrics["recall@10"], 0.35) << "popularity recall@10 " << baseline.metrics["recall@10"];
}

TEST_F(TrainerTest, CheckpointRoundTripGivesIdenticalScores) {
  auto model = model::make_model(small_model(40));
  model->eval();
  CheckpointMeta meta{small_model(40), "abc", nlohmann::json::object(), 3, 30, 0.5};
  save_checkpoint(dir_ / "c.pt", *model, meta);
  auto loaded = load_checkpoint(dir_ / "c.pt", c10::Device(c10::kCPU));
  auto items = torch::tensor({{3, 9, 17, 0}}, torch::kLong);
  auto lengths = torch::tensor({3}, torch::kLong);
  test::expect_tensor_near(model->next_item_scores(items, lengths), loaded.model->next_item_scores(items, lengths), 0);
  EXPECT_EQ(loaded.meta.epoch, 3);
  EXPECT_EQ(loaded.meta.schema_fingerprint, "abc");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c.pt.tmp"));
}

TEST_F(TrainerTest, CheckpointFromAnotherSchemaIsRefused) {
  CheckpointMeta meta{small_model(40), "aaaa", nlohmann::json::object()};
  try {
    check_schema_matches(meta, "bbbb", "run/checkpoint.pt", "data/schema.json");
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("run/checkpoint.pt' was trained on another schema"), std::string::npos) << msg;
    EXPECT_NE(msg.find("data/schema.json"), std::string::npos) << msg;
  }
}

TEST_F(TrainerTest, DamagedOrMissingCheckpointIsAClearError) {
  write("junk.pt", "this is not a checkpoint");
  EXPECT_THROW(load_checkpoint(dir_ / "junk.pt", c10::Device(c10::kCPU)), InvalidInput);
  try {
    load_checkpoint(dir_ / "missing.pt", c10::Device(c10::kCPU));
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("missing.pt' does not exist"), std::string::npos) << e.what();
  }
}

TEST_F(TrainerTest, InvalidOptionsAreAllReportedBeforeTraining) {
  TrainOptions options;
  options.epochs = 0;
  options.learning_rate = -1;
  try {
    Trainer trainer(small_model(40), options);
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("--epochs must be >= 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--lr must be > 0"), std::string::npos) << msg;
  }
}

}  // namespace seqrec::train
