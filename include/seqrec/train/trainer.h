#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "seqrec/etl/session_dataset.h"
#include "seqrec/model/model_config.h"

namespace seqrec::train {

struct TrainOptions {
  int64_t epochs = 5;
  int64_t batch_size = 128;
  double learning_rate = 1e-3;
  double weight_decay = 0.01;   ///< AdamW's decoupled weight decay
  uint64_t seed = 42;
  std::string device = "cpu";   ///< cpu, cuda, cuda:N or auto
  int64_t eval_batch_size = 256;
  std::vector<int64_t> ks{10, 20};
  std::string select_metric = "ndcg@20";  ///< valid metric that picks the checkpoint kept

  nlohmann::json to_json() const;
  std::vector<std::string> problems() const;
};

struct TrainResult {
  int64_t best_epoch = 0;
  double best_metric = 0.0;
  std::vector<nlohmann::json> history;  ///< one entry per epoch, as in metrics.jsonl
  double seconds = 0.0;
};

/// Trains the causal next-item model with full-catalogue cross-entropy at every non-padded position,
/// evaluates on valid each epoch, and keeps the best checkpoint in `<run>/checkpoint.pt`.
class Trainer {
 public:
  Trainer(model::ModelConfig model, TrainOptions options);
  TrainResult fit(const etl::SessionTable& train, const etl::SessionTable& valid, const std::filesystem::path& run_dir,
                  const std::string& schema_fingerprint);

 private:
  model::ModelConfig model_config_;
  TrainOptions options_;
};

}  // namespace seqrec::train
