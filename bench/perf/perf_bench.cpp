// seqrec's side of the side-by-side with the PyTorch peer (bench/peers/gpt2_peer.py): trains the default
// model on a sessions dataset, then measures inference and the machine's GEMM ceiling. Prints one JSON object.
#include <sys/resource.h>
#include <torch/types.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <iostream>
#include <numeric>

#include "seqrec/common/runtime.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/batch.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/checkpoint.h"
#include "seqrec/train/trainer.h"

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

/// Best single-precision GEMM rate over a few square-ish shapes: the ceiling we compare against.
double gemm_ceiling_gflops() {
  double best = 0;
  for (int64_t n : {512, 1024, 2048}) {
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    torch::mm(a, b);
    int reps = n == 2048 ? 3 : 10;
    auto t = Clock::now();
    for (int i = 0; i < reps; ++i) torch::mm(a, b);
    best = std::max(best, reps * 2.0 * n * n * n / seconds_since(t) / 1e9);
  }
  return best;
}

/// GFLOP/s of the output layer's product, hidden [rows, d] x item embedding^T [d, items].
double output_layer_gflops(int64_t rows, int64_t d, int64_t items) {
  auto h = torch::randn({rows, d}), e = torch::randn({items, d});
  torch::matmul(h, e.t());
  const int reps = 5;
  auto t = Clock::now();
  for (int i = 0; i < reps; ++i) torch::matmul(h, e.t());
  return reps * 2.0 * rows * d * items / seconds_since(t) / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seqrec performance bench (training, inference, GEMM ceiling)"};
  std::string data;
  int threads = 0;
  seqrec::model::ModelConfig model;
  model.dropout = 0.1;
  seqrec::train::TrainOptions train;
  train.epochs = 3;
  app.add_option("--data", data, "ETL output folder")->required();
  app.add_option("--threads", threads, "threads (0 = all cores)");
  app.add_option("--epochs", train.epochs);
  app.add_option("--batch-size", train.batch_size);
  app.add_option("--replicas", train.replicas, "data-parallel replicas (0 = one per thread)");
  app.add_option("--d-model", model.d_model);
  app.add_option("--layers", model.num_layers);
  app.add_option("--heads", model.num_heads);
  app.add_option("--max-length", model.max_length);
  CLI11_PARSE(app, argc, argv);
  seqrec::set_threads(threads);

  const std::filesystem::path dir(data);
  auto schema = seqrec::schema::Schema::load(dir / "schema.json");
  model.num_items = schema.item_column().cardinality;
  model.first_item_id = schema.item_column().first_value_id;
  auto train_set = seqrec::schema::read_sessions(dir / "sessions/train");
  auto test_set = seqrec::schema::read_sessions(dir / "sessions/test");
  const seqrec::schema::SessionTable no_valid;

  // Training: the real Trainer, no validation, so the time is the training steps (plus one checkpoint write).
  auto run = std::filesystem::temp_directory_path() / "seqrec_perf_run";
  seqrec::train::Trainer trainer(model, train);
  auto result = trainer.fit(train_set, no_valid, run, schema.fingerprint());
  int64_t trainable = 0;
  for (int64_t r = 0; r < train_set.size(); ++r) trainable += train_set.length(r) >= 2;
  const double train_seq_per_s = trainable * train.epochs / result.seconds;

  auto loaded = seqrec::artifacts::load_checkpoint(run / "checkpoint.pt", c10::Device(c10::kCPU));
  auto net = loaded.model;
  torch::NoGradGuard no_grad;
  seqrec::metrics::EvaluatorOptions eval_options;
  eval_options.ks = {10, 20};
  eval_options.max_length = model.max_length;
  auto metrics = seqrec::metrics::Evaluator(eval_options)
                     .evaluate(test_set, [&](const seqrec::model::PrefixBatch& b) { return net->next_item_scores(b.items, b.lengths); },
                               "seqrec");

  // Batched inference: top-20 for every test session, 256 per batch.
  std::vector<int64_t> rows(test_set.size());
  std::iota(rows.begin(), rows.end(), 0);
  auto t = Clock::now();
  int64_t scored = 0;
  for (int rep = 0; rep < 3; ++rep)
    for (size_t s = 0; s < rows.size(); s += 256) {
      std::vector<int64_t> part(rows.begin() + s, rows.begin() + std::min(rows.size(), s + 256));
      auto b = seqrec::model::make_prefix_batch(test_set, part, model.max_length, false, c10::Device(c10::kCPU));
      net->next_item_top_k(b.items, b.lengths, 20);
      scored += static_cast<int64_t>(part.size());
    }
  const double batched_sessions_per_s = scored / seconds_since(t);

  // Single-session latency on this model, then on a 50,000-item catalogue.
  auto single_latency = [&](seqrec::model::SessionModel& m, int64_t catalogue_rows) {
    std::vector<double> ms;
    for (int64_t i = 0; i < 300; ++i) {
      std::vector<int64_t> one{i % catalogue_rows};
      auto b = seqrec::model::make_prefix_batch(test_set, one, model.max_length, false, c10::Device(c10::kCPU));
      auto s = Clock::now();
      m.next_item_top_k(b.items, b.lengths, 20);
      ms.push_back(seconds_since(s) * 1e3);
    }
    return ms;
  };
  auto small = single_latency(*net, test_set.size());
  auto big_config = model;
  big_config.num_items = 50000;
  auto big = seqrec::model::make_model(big_config);
  big->eval();
  auto large = single_latency(*big, test_set.size());

  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  const double ceiling = gemm_ceiling_gflops();
  const double output_layer = output_layer_gflops(train.batch_size * model.max_length, model.d_model, 50000);
  nlohmann::json out = {{"impl", "seqrec"},
                        {"threads", at::get_num_threads()},
                        {"train_seq_per_s", train_seq_per_s},
                        {"train_seconds", result.seconds},
                        {"batched_sessions_per_s", batched_sessions_per_s},
                        {"single_session_ms_p50", percentile(small, 0.5)},
                        {"top20_of_50k_ms_p50", percentile(large, 0.5)},
                        {"top20_of_50k_ms_p99", percentile(large, 0.99)},
                        {"peak_rss_mb", usage.ru_maxrss / 1024.0},
                        {"gemm_ceiling_gflops", ceiling},
                        {"output_layer_gflops", output_layer},
                        {"test", metrics.metrics}};
  std::cout << out.dump() << std::endl;
  std::filesystem::remove_all(run);
  return 0;
}
