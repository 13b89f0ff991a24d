#pragma once
#include <torch/nn/module.h>

#include <memory>
#include <utility>

#include "seqrec/model/batch.h"
#include "seqrec/model/model_config.h"

namespace seqrec::model {

/// What the trainer, the evaluator and the predictor need from any next-item model. Masking, the body and
/// the head live behind this interface, so a new architecture needs no change outside model/.
class SessionModel : public torch::nn::Module {
 public:
  /// Items per training sequence the model wants (a causal model takes max_length + 1 to shift by one).
  virtual int64_t training_sequence_length() const = 0;
  /// The training loss for sessions `batch.items` [B, L] int64, right-padded with 0 (L <= training_sequence_length()),
  /// with the side features and task targets batch_columns() names.
  virtual at::Tensor training_loss(const TrainingBatch& batch) = 0;
  /// Scores over the catalogue for the item after each session (items [B, L] right-padded, lengths [B] >= 1, and the
  /// features batch_columns() names). Returns [B, num_items]; padding, null and OOV ids get -inf.
  virtual at::Tensor next_item_scores(const PrefixBatch& batch) = 0;
  /// The k best next items: {scores [B, k'], ids [B, k']}, best first, k' = min(k, scorable items), as
  /// next_item_scores(...).topk(k); models override it to skip the [B, num_items] matrix (serving's path).
  virtual std::pair<at::Tensor, at::Tensor> next_item_top_k(const PrefixBatch& batch, int64_t k);
  /// The session tasks' outputs for whole sessions, [B] each in config().tasks order: a probability for a binary
  /// task, the predicted value for a regression. Empty for a model without tasks.
  virtual std::vector<at::Tensor> task_outputs(const PrefixBatch& batch) = 0;
  /// The side columns a batch must carry for this model.
  BatchColumns batch_columns() const { return BatchColumns::of(config()); }

  /// Item-only shorthands (a model without side features).
  at::Tensor training_loss(const at::Tensor& items) { return training_loss(TrainingBatch{items, {}, {}}); }
  at::Tensor next_item_scores(const at::Tensor& items, const at::Tensor& lengths) {
    return next_item_scores(PrefixBatch{items, lengths, {}, {}});
  }
  std::pair<at::Tensor, at::Tensor> next_item_top_k(const at::Tensor& items, const at::Tensor& lengths, int64_t k) {
    return next_item_top_k(PrefixBatch{items, lengths, {}, {}}, k);
  }
  virtual const ModelConfig& config() const = 0;
};

/// Builds the model a config describes (validated first; every problem listed).
std::shared_ptr<SessionModel> make_model(const ModelConfig& config);

/// What `seqrec inspect` prints about a model: the resolved config and parameter counts (total, trainable,
/// and per top-level part: input, body, head, tasks).
nlohmann::json describe_model(SessionModel& model);

}  // namespace seqrec::model
