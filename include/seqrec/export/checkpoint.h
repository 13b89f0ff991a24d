#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "seqrec/model/session_model.h"

namespace torch::optim {
class Optimizer;
}

namespace seqrec::artifacts {

/// What a checkpoint says about itself, besides the weights.
struct CheckpointMeta {
  model::ModelConfig model;
  std::string schema_fingerprint;  ///< refuses use with sessions from another schema
  nlohmann::json train_options;
  int64_t epoch = 0;
  int64_t step = 0;
  double best_metric = 0.0;
  nlohmann::json to_json() const;
  static CheckpointMeta from_json(const nlohmann::json& j);
};

/// Writes weights, the resolved config and (if given) the optimizer state to `path` via `<path>.tmp`.
void save_checkpoint(const std::filesystem::path& path, model::SessionModel& model, const CheckpointMeta& meta,
                     torch::optim::Optimizer* optimizer = nullptr);

struct LoadedCheckpoint {
  std::shared_ptr<model::SessionModel> model;
  CheckpointMeta meta;
};

/// Loads a checkpoint onto `device`; throws InvalidInput naming the file when it is missing, damaged or newer.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path, c10::Device device);

/// A resumable checkpoint: save_checkpoint's content plus `progress` (epoch, position in the epoch, step, best
/// metric, history: whatever the trainer needs) and LibTorch's CPU random state, written atomically.
void save_training_checkpoint(const std::filesystem::path& path, model::SessionModel& model, const CheckpointMeta& meta,
                              torch::optim::Optimizer& optimizer, const nlohmann::json& progress);

/// Restores weights into `model`, the optimizer state and the random state from a save_training_checkpoint
/// file; returns its progress. Throws InvalidInput naming the file when it is missing, damaged or not resumable.
nlohmann::json load_training_checkpoint(const std::filesystem::path& path, model::SessionModel& model,
                                        torch::optim::Optimizer& optimizer, c10::Device device);

/// Throws InvalidInput unless the checkpoint was trained on sessions with `schema_fingerprint`.
void check_schema_matches(const CheckpointMeta& meta, const std::string& schema_fingerprint,
                          const std::filesystem::path& checkpoint, const std::filesystem::path& schema_path);

}  // namespace seqrec::artifacts
