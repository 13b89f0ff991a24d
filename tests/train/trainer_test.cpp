#include "seqrec/train/trainer.h"

#include <torch/cuda.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <random>

#include "seqrec/common/error.h"
#include "seqrec/etl/synth.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/popularity.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/checkpoint.h"
#include "seqrec/train/report.h"
#include "seqrec/train/time_windows.h"
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
  options.split.method = etl::SplitMethod::kRandom;
  options.split.valid_fraction = 0.1;
  options.split.test_fraction = 0.1;
  etl::run_etl({(dir / "events.csv").string()}, options, dir / "data");
  return dir / "data";
}

/// Random sessions where item i is mostly followed by i + 1: learnable in a few steps, built without ETL.
schema::SessionTable random_sessions(int64_t sessions, int64_t num_items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  schema::SessionTable t;
  for (int64_t s = 0; s < sessions; ++s) {
    const int64_t n = 2 + static_cast<int64_t>(rng() % 6);
    std::vector<int64_t> items, times;
    int64_t item = 3 + static_cast<int64_t>(rng() % (num_items - 3));
    for (int64_t i = 0; i < n; ++i) {
      items.push_back(item);
      times.push_back(s * 100 + i);
      item = rng() % 4 == 0 ? 3 + static_cast<int64_t>(rng() % (num_items - 3)) : 3 + (item - 2) % (num_items - 3);
    }
    t.append("s" + std::to_string(s), items, times);
  }
  return t;
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
  auto train = schema::read_sessions(data / "sessions/train");
  auto valid = schema::read_sessions(data / "sessions/valid");
  auto test = schema::read_sessions(data / "sessions/test");
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.learning_rate = 3e-3;
  Trainer trainer(small_model(schema.item_column().cardinality), options);
  auto result = trainer.fit(train, valid, dir_ / "run", schema.fingerprint());
  EXPECT_EQ(std::count_if(result.history.begin(), result.history.end(), [](const auto& e) { return e["type"] == "valid"; }), 4);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/checkpoint.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/metrics.jsonl"));

  auto loaded = artifacts::load_checkpoint(dir_ / "run/checkpoint.pt", c10::Device(c10::kCPU));
  metrics::Evaluator evaluator(metrics::EvaluatorOptions{});
  auto model = loaded.model;
  auto ours = evaluator.evaluate(test, [&](const model::PrefixBatch& b) { return model->next_item_scores(b.items, b.lengths); }, "gpt2");
  model::Popularity popularity(train, schema.item_column().cardinality, schema.item_column().first_value_id, c10::Device(c10::kCPU));
  auto baseline = evaluator.evaluate(test, [&](const model::PrefixBatch& b) { return popularity.scores(b); }, "pop");
  // 90% of next items follow the hidden successor: a model that learned it ranks it near the top.
  EXPECT_GT(ours.metrics["recall@10"], 0.8) << "model recall@10 " << ours.metrics["recall@10"];
  EXPECT_LT(baseline.metrics["recall@10"], 0.35) << "popularity recall@10 " << baseline.metrics["recall@10"];
}

TEST_F(TrainerTest, Bf16AutocastLearnsThePlantedPatternToo) {
  if (!cpu_supports_bf16()) GTEST_SKIP() << "this CPU has no native bf16";
  auto data = make_planted_data(dir_);
  auto schema = schema::Schema::load(data / "schema.json");
  auto train = schema::read_sessions(data / "sessions/train");
  auto valid = schema::read_sessions(data / "sessions/valid");
  auto test = schema::read_sessions(data / "sessions/test");
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.learning_rate = 3e-3;
  options.precision = Precision::bf16;
  Trainer trainer(small_model(schema.item_column().cardinality), options);
  trainer.fit(train, valid, dir_ / "run", schema.fingerprint());
  // The weights stay float (autocast computes in bf16, the optimizer updates fp32 masters).
  auto model = artifacts::load_checkpoint(dir_ / "run/checkpoint.pt", c10::Device(c10::kCPU)).model;
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
  metrics::Evaluator evaluator(metrics::EvaluatorOptions{});
  auto ours = evaluator.evaluate(test, [&](const model::PrefixBatch& b) { return model->next_item_scores(b.items, b.lengths); }, "gpt2");
  EXPECT_GT(ours.metrics["recall@10"], 0.8) << "bf16 model recall@10 " << ours.metrics["recall@10"];
}

TEST_F(TrainerTest, TrainsInBf16OnTheGpuAndScoresLikeItsCpuCopy_CUDA) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no GPU";
  auto data = make_planted_data(dir_);
  auto schema = schema::Schema::load(data / "schema.json");
  auto train = schema::read_sessions(data / "sessions/train");
  auto valid = schema::read_sessions(data / "sessions/valid");
  auto test = schema::read_sessions(data / "sessions/test");
  TrainOptions options;
  options.epochs = 4;
  options.batch_size = 64;
  options.learning_rate = 3e-3;
  options.device = "cuda";
  options.precision = Precision::bf16;
  Trainer trainer(small_model(schema.item_column().cardinality), options);
  trainer.fit(train, valid, dir_ / "run", schema.fingerprint());
  // The GPU's streamed top-k evaluation learns the pattern; the same checkpoint on the CPU ranks alike.
  metrics::EvaluatorOptions on_gpu;
  on_gpu.device = c10::Device(c10::kCUDA);
  auto gpu_model = artifacts::load_checkpoint(dir_ / "run/checkpoint.pt", c10::Device(c10::kCUDA)).model;
  auto gpu = metrics::Evaluator(on_gpu).evaluate(
      test, [&](const model::PrefixBatch& b) { return gpu_model->next_item_scores(b.items, b.lengths); }, "gpu");
  EXPECT_GT(gpu.metrics["recall@10"], 0.8) << gpu.metrics["recall@10"];
  auto cpu_model = artifacts::load_checkpoint(dir_ / "run/checkpoint.pt", c10::Device(c10::kCPU)).model;
  auto cpu = metrics::Evaluator(metrics::EvaluatorOptions{}).evaluate(
      test, [&](const model::PrefixBatch& b) { return cpu_model->next_item_scores(b.items, b.lengths); }, "cpu");
  EXPECT_NEAR(gpu.metrics["recall@10"], cpu.metrics["recall@10"], 0.01);
}

TEST_F(TrainerTest, CheckpointRoundTripGivesIdenticalScores) {
  auto model = model::make_model(small_model(40));
  model->eval();
  artifacts::CheckpointMeta meta{small_model(40), "abc", nlohmann::json::object(), 3, 30, 0.5};
  artifacts::save_checkpoint(dir_ / "c.pt", *model, meta);
  auto loaded = artifacts::load_checkpoint(dir_ / "c.pt", c10::Device(c10::kCPU));
  auto items = torch::tensor({{3, 9, 17, 0}}, torch::kLong);
  auto lengths = torch::tensor({3}, torch::kLong);
  test::expect_tensor_near(model->next_item_scores(items, lengths), loaded.model->next_item_scores(items, lengths), 0);
  EXPECT_EQ(loaded.meta.epoch, 3);
  EXPECT_EQ(loaded.meta.schema_fingerprint, "abc");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "c.pt.tmp"));
}

TEST_F(TrainerTest, CheckpointFromAnotherSchemaIsRefused) {
  artifacts::CheckpointMeta meta{small_model(40), "aaaa", nlohmann::json::object()};
  try {
    artifacts::check_schema_matches(meta, "bbbb", "run/checkpoint.pt", "data/schema.json");
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("run/checkpoint.pt' was trained on another schema"), std::string::npos) << msg;
    EXPECT_NE(msg.find("data/schema.json"), std::string::npos) << msg;
  }
}

TEST_F(TrainerTest, DamagedOrMissingCheckpointIsAClearError) {
  write("junk.pt", "this is not a checkpoint");
  EXPECT_THROW(artifacts::load_checkpoint(dir_ / "junk.pt", c10::Device(c10::kCPU)), InvalidInput);
  try {
    artifacts::load_checkpoint(dir_ / "missing.pt", c10::Device(c10::kCPU));
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
    EXPECT_NE(msg.find("epochs (--epochs) must be >= 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("learning_rate (--learning-rate) must be > 0"), std::string::npos) << msg;
  }
}

namespace {
TrainOptions quick_options() {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.accumulation_steps = 2;
  o.learning_rate = 5e-3;
  o.schedule = Schedule::kLinear;
  o.warmup_steps = 3;
  o.clip_grad_norm = 1.0;
  o.eval_every = 4;
  o.log_every = 2;
  o.bucket_by_length = true;
  o.ks = {5, 20};
  return o;
}

std::vector<torch::Tensor> weights_of(const std::filesystem::path& checkpoint) {
  std::vector<torch::Tensor> out;
  for (const auto& p : artifacts::load_checkpoint(checkpoint, c10::Device(c10::kCPU)).model->parameters()) out.push_back(p.detach().clone());
  return out;
}
}  // namespace

TEST_F(TrainerTest, ResumeAfterInterruptionEndsWithTheSameWeightsAsAnUninterruptedRun) {
  auto train = random_sessions(200, 30, 1);
  auto valid = random_sessions(40, 30, 2);
  auto config = small_model(30);
  config.dropout = 0.2;  // dropout draws random numbers: resuming must restore the generator too

  for (int64_t replicas : {1, 2}) {  // one model, and two data-parallel replicas (train/replicas.h)
    SCOPED_TRACE("replicas " + std::to_string(replicas));
    auto options = quick_options();
    options.replicas = replicas;
    const auto run = dir_ / ("r" + std::to_string(replicas));
    auto whole = Trainer(config, options).fit(train, valid, run / "whole", "fp");
    EXPECT_EQ(whole.stop_reason, "finished");
    const int64_t steps = whole.steps;
    ASSERT_EQ(steps, 2 * 7);  // 13 micro-batches per epoch, 2 per step: 7 steps, the last a single micro-batch

    Trainer interrupted(config, options);
    interrupted.set_step_callback([](int64_t step) {
      if (step == 5) request_stop(SIGTERM);  // mid-epoch, off the evaluation grid
    });
    auto first = interrupted.fit(train, valid, run / "split", "fp");
    EXPECT_EQ(first.interrupted_by, SIGTERM);
    EXPECT_EQ(first.steps, 5);
    auto second = Trainer(config, options).fit(train, valid, run / "split", "fp", /*resume=*/true);
    EXPECT_EQ(second.steps, steps);

    auto a = weights_of(run / "whole/last.pt");
    auto b = weights_of(run / "split/last.pt");
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
    ASSERT_EQ(whole.history.size(), second.history.size());
    for (size_t i = 0; i < whole.history.size(); ++i) {
      auto x = whole.history[i], y = second.history[i];
      x.erase("seconds");
      y.erase("seconds");
      EXPECT_EQ(x, y) << "metrics.jsonl line " << i;
    }
    EXPECT_EQ(whole.best_step, second.best_step);
  }
}

TEST_F(TrainerTest, SameSeedOnTheCpuRepeatsExactly) {
  auto train = random_sessions(100, 30, 1);
  auto config = small_model(30);
  config.dropout = 0.2;
  for (int64_t replicas : {1, 2}) {
    auto o = quick_options();
    o.epochs = 1;
    o.replicas = replicas;
    const auto run = dir_ / ("r" + std::to_string(replicas));
    Trainer(config, o).fit(train, schema::SessionTable{}, run / "a", "fp");
    Trainer(config, o).fit(train, schema::SessionTable{}, run / "b", "fp");
    auto a = weights_of(run / "a/last.pt"), b = weights_of(run / "b/last.pt");
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "replicas " << replicas;
  }
}

TEST_F(TrainerTest, EarlyStoppingEndsARunThatStopsImproving) {
  auto train = random_sessions(200, 30, 1);
  auto valid = random_sessions(40, 30, 2);
  auto o = quick_options();
  o.learning_rate = 1e-12;  // the weights barely move, so valid metrics never improve after the first evaluation
  o.epochs = 50;
  o.patience = 2;
  auto r = Trainer(small_model(30), o).fit(train, valid, dir_ / "run", "fp");
  EXPECT_EQ(r.stop_reason, "early stopping");
  EXPECT_EQ(r.steps, 3 * o.eval_every);  // best at the first evaluation, then 2 without improvement
  EXPECT_EQ(r.best_step, o.eval_every);
}

TEST_F(TrainerTest, ReportAndMetricsLogNameTheirCurves) {
  auto o = quick_options();
  o.optimizer = Optimizer::kAdam;
  o.schedule = Schedule::kCosine;
  o.max_steps = 6;
  auto r = Trainer(small_model(30), o).fit(random_sessions(200, 30, 1), random_sessions(40, 30, 2), dir_ / "run", "fp");
  EXPECT_EQ(r.steps, 6);
  const std::string html = [&] {
    std::ifstream in(dir_ / "run/report.html");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  for (const char* name : {"<svg", "train loss", "learning rate", "valid ndcg@20", "valid recall@5", "valid coverage@20"})
    EXPECT_NE(html.find(name), std::string::npos) << name;
  EXPECT_EQ(html.find("<script"), std::string::npos);  // shows with no network and no script
  std::ifstream log(dir_ / "run/metrics.jsonl");
  int train_lines = 0, valid_lines = 0;
  for (std::string line; std::getline(log, line);) {
    auto j = nlohmann::json::parse(line);
    train_lines += j["type"] == "train";
    valid_lines += j["type"] == "valid";
  }
  EXPECT_EQ(train_lines, 3);  // every 2 steps
  EXPECT_EQ(valid_lines, 2);  // step 4, and the final step 6
  auto curves = curves_from_history(r.history);
  ASSERT_GE(curves.size(), 3u);
  EXPECT_EQ(curves[0].name, "train loss");
  EXPECT_EQ(curves[0].points.size(), 3u);
}

TEST_F(TrainerTest, OptionsComeFromJsonAndUnknownKeysAreNamed) {
  TrainOptions o;
  o.update_from_json(nlohmann::json{{"learning_rate", 0.5}, {"schedule", "cosine"}, {"ks", {5}}, {"select_metric", "ndcg@5"}}, "c.json");
  EXPECT_DOUBLE_EQ(o.learning_rate, 0.5);
  EXPECT_EQ(o.schedule, Schedule::kCosine);
  EXPECT_EQ(o.ks, std::vector<int64_t>{5});
  TrainOptions round;
  round.update_from_json(o.to_json(), "round trip");
  EXPECT_EQ(round.to_json(), o.to_json());
  try {
    o.update_from_json(nlohmann::json{{"learning_rat", 0.5}}, "c.json");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("c.json: unknown key 'learning_rat' (did you mean 'learning_rate'?"), std::string::npos) << e.what();
  }
  try {
    o.update_from_json(nlohmann::json{{"optimizer", "sgd"}}, "c.json", "train");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("c.json: train.optimizer must be adamw or adam, got 'sgd'"), std::string::npos) << e.what();
  }
  o.accumulation_steps = 0;
  auto p = o.problems();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("accumulation_steps (--accumulation-steps) must be >= 1"), std::string::npos);
  // The metric that picks the checkpoint must be one the evaluation computes: known before any data is read.
  o.accumulation_steps = 1;
  o.select_metric = "ndcg@20";
  p = o.problems();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("select_metric (--select-metric) 'ndcg@20' is not computed"), std::string::npos) << p[0];
}

TEST_F(TrainerTest, TimeWindowsTrainOnEachDayAndEvaluateOnTheNext) {
  for (int day = 1; day <= 3; ++day)
    for (const char* split : {"train", "valid", "test"}) {
      char name[16];
      std::snprintf(name, sizeof name, "day-%04d", day);
      schema::write_sessions(random_sessions(60, 30, day * 10 + split[0]), dir_ / "data/sessions" / name / split);
    }
  EXPECT_EQ(list_time_windows(dir_ / "data/sessions"), (std::vector<std::string>{"day-0001", "day-0002", "day-0003"}));
  auto o = quick_options();
  o.epochs = 1;
  o.eval_every = 0;
  metrics::EvaluatorOptions eval;
  eval.ks = {5};
  auto r = run_time_windows(dir_ / "data", small_model(30), o, eval, TimeWindowOptions{}, dir_ / "run", "fp");
  ASSERT_EQ(r.windows.size(), 2u);
  EXPECT_EQ(r.windows[0].train_window, "day-0001");
  EXPECT_EQ(r.windows[0].eval_window, "day-0002");
  EXPECT_EQ(r.windows[1].eval_window, "day-0003");
  EXPECT_GT(r.windows[0].evaluation.predictions, 0);
  EXPECT_DOUBLE_EQ(r.average["ndcg@5"],
                   (r.windows[0].evaluation.metrics["ndcg@5"] + r.windows[1].evaluation.metrics["ndcg@5"]) / 2);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/windows.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/checkpoint.pt"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "run/day-0002/metrics.jsonl"));
  EXPECT_THROW(run_time_windows(dir_ / "nowhere", small_model(30), o, eval, {}, dir_ / "r2", "fp"), InvalidInput);
}

}  // namespace seqrec::train
