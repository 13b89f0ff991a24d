#include "seqrec/train/trainer.h"

#include <torch/optim/adamw.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <random>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/progress.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/session_model.h"
#include "seqrec/train/checkpoint.h"

namespace seqrec::train {

nlohmann::json TrainOptions::to_json() const {
  return {{"epochs", epochs},   {"batch_size", batch_size},           {"learning_rate", learning_rate},
          {"weight_decay", weight_decay}, {"seed", seed},             {"device", device},
          {"eval_batch_size", eval_batch_size}, {"ks", ks},           {"select_metric", select_metric}};
}

std::vector<std::string> TrainOptions::problems() const {
  std::vector<std::string> p;
  if (epochs < 1) p.push_back("--epochs must be >= 1");
  if (batch_size < 1) p.push_back("--batch-size must be >= 1");
  if (!(learning_rate > 0)) p.push_back("--lr must be > 0");
  if (weight_decay < 0) p.push_back("--weight-decay must be >= 0");
  if (ks.empty()) p.push_back("--k needs at least one value");
  for (int64_t k : ks)
    if (k < 1) p.push_back("--k values must be > 0, got " + std::to_string(k));
  return p;
}

Trainer::Trainer(model::ModelConfig model, TrainOptions options) : model_config_(std::move(model)), options_(std::move(options)) {
  auto problems = options_.problems();
  for (const auto& p : model_config_.problems()) problems.push_back(p);
  if (!problems.empty()) {
    std::string msg = "invalid training configuration:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
}

TrainResult Trainer::fit(const etl::SessionTable& train, const etl::SessionTable& valid, const std::filesystem::path& run_dir,
                         const std::string& schema_fingerprint) {
  const c10::Device device = parse_device(options_.device);
  seed_everything(options_.seed);
  std::mt19937_64 shuffle_rng(options_.seed);

  std::vector<int64_t> rows;
  for (int64_t r = 0; r < train.size(); ++r)
    if (train.length(r) >= 2) rows.push_back(r);
  SEQREC_CHECK(!rows.empty(), "no training session has 2 or more items; nothing to learn from");

  auto model = model::make_model(model_config_);
  model->to(device);
  torch::optim::AdamW optimizer(model->parameters(),
                                torch::optim::AdamWOptions(options_.learning_rate).weight_decay(options_.weight_decay));

  std::filesystem::create_directories(run_dir);
  CheckpointMeta meta{model_config_, schema_fingerprint, options_.to_json()};
  write_text_file_atomic(run_dir / "config.json",
                         nlohmann::json{{"model", model_config_.to_json()}, {"train", options_.to_json()},
                                        {"schema_fingerprint", schema_fingerprint}}
                                 .dump(2) + "\n");
  std::ofstream metrics_log(run_dir / "metrics.jsonl", std::ios::trunc);

  metrics::EvaluatorOptions eval_options;
  eval_options.ks = options_.ks;
  eval_options.batch_size = options_.eval_batch_size;
  eval_options.max_length = model_config_.max_length;
  eval_options.device = device;
  metrics::Evaluator evaluator(eval_options);

  TrainResult result;
  result.best_metric = -1.0;
  ProgressBar total_clock("[train]", 0, "");
  int64_t step = 0;
  for (int64_t epoch = 1; epoch <= options_.epochs; ++epoch) {
    std::shuffle(rows.begin(), rows.end(), shuffle_rng);
    model->train();
    ProgressBar bar("[train] epoch " + std::to_string(epoch) + "/" + std::to_string(options_.epochs),
                    static_cast<int64_t>(rows.size()), "seq");
    double loss_sum = 0.0;
    int64_t loss_batches = 0;
    std::vector<int64_t> batch_rows;
    for (size_t start = 0; start < rows.size(); start += options_.batch_size) {
      const size_t end = std::min(rows.size(), start + static_cast<size_t>(options_.batch_size));
      batch_rows.assign(rows.begin() + start, rows.begin() + end);
      auto items = model::make_training_batch(train, batch_rows, model->training_sequence_length(), device);
      auto loss = model->training_loss(items);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      ++step;
      loss_sum += loss.item<double>();
      ++loss_batches;
      char status[48];
      std::snprintf(status, sizeof status, "loss %.4f", loss_sum / loss_batches);
      bar.update(static_cast<int64_t>(batch_rows.size()), status);
    }
    const double epoch_loss = loss_sum / std::max<int64_t>(1, loss_batches);
    char status[48];
    std::snprintf(status, sizeof status, "loss %.4f", epoch_loss);
    bar.finish(status);

    nlohmann::json entry = {{"epoch", epoch}, {"step", step}, {"train_loss", epoch_loss}};
    double selected = -epoch_loss;  // without a valid split, the lowest training loss is kept
    if (valid.size() > 0) {
      model->eval();
      auto scored = evaluator.evaluate(valid, [&](const model::PrefixBatch& b) { return model->next_item_scores(b.items, b.lengths); },
                                       "valid");
      entry["valid"] = scored.metrics;
      auto it = scored.metrics.find(options_.select_metric);
      SEQREC_CHECK(it != scored.metrics.end(), "--select-metric '", options_.select_metric,
                   "' is not computed; use ndcg@K, recall@K or mrr@K with K among --k");
      selected = it->second;
      std::string line = "[valid] epoch " + std::to_string(epoch);
      for (const auto& [name, value] : scored.metrics) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "  %s %.4f", name.c_str(), value);
        line += buf;
      }
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    metrics_log << entry.dump() << "\n" << std::flush;
    result.history.push_back(entry);
    if (selected > result.best_metric || epoch == 1) {
      result.best_metric = selected;
      result.best_epoch = epoch;
      meta.epoch = epoch;
      meta.step = step;
      meta.best_metric = selected;
      save_checkpoint(run_dir / "checkpoint.pt", *model, meta, &optimizer);
    }
  }
  result.seconds = total_clock.elapsed_seconds();
  return result;
}

}  // namespace seqrec::train
