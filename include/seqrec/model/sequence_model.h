#pragma once
#include <torch/nn/modules/container/modulelist.h>

#include <memory>

#include "seqrec/model/body.h"
#include "seqrec/model/head.h"
#include "seqrec/model/input_block.h"
#include "seqrec/model/masking.h"
#include "seqrec/model/session_model.h"

namespace seqrec::model {

/// Every architecture as one composition: input block -> masking -> body -> heads (DESIGN.md §3).
class SequenceModelImpl : public SessionModel {
 public:
  /// Keeps `config` as given (what checkpoints store) and builds from config.resolved(); throws InvalidInput
  /// listing every problem.
  explicit SequenceModelImpl(const ModelConfig& config);

  int64_t training_sequence_length() const override;
  using SessionModel::next_item_scores;
  using SessionModel::next_item_top_k;
  using SessionModel::training_loss;
  torch::Tensor training_loss(const TrainingBatch& batch) override;
  torch::Tensor next_item_scores(const PrefixBatch& batch) override;
  std::pair<torch::Tensor, torch::Tensor> next_item_top_k(const PrefixBatch& batch, int64_t k) override;
  std::vector<torch::Tensor> task_outputs(const PrefixBatch& batch) override;
  const ModelConfig& config() const override { return config_; }
  const ModelConfig& resolved() const { return resolved_; }

  /// Body output for a masked batch ([B, L, D], or [B, P, D] under plm's target mapping).
  /// With query_rows [B], only that position of each row is needed; the result may then be [B, 1, D].
  torch::Tensor encode(const MaskedBatch& batch, const FeatureMap& features = {}, const torch::Tensor& query_rows = {});
  /// Raw session-task outputs (logits for binary tasks), [B] each in config order.
  std::vector<torch::Tensor> task_logits(const PrefixBatch& batch);

  /// The body's output at the position that predicts the next item: [B, D].
  torch::Tensor next_item_hidden(const PrefixBatch& batch);
  torch::Tensor next_item_hidden(const torch::Tensor& items, const torch::Tensor& lengths) {
    return next_item_hidden(PrefixBatch{items, lengths, {}, {}});
  }
  /// Reads a checkpoint's weights; also reads seqrec 0.1 GPT-2 checkpoints (flat parameter names).
  void load(torch::serialize::InputArchive& archive) override;

  InputBlock input{nullptr};
  std::shared_ptr<BodyImpl> body;
  NextItemHead head{nullptr};
  torch::nn::ModuleList tasks{nullptr};

 private:
  torch::Tensor item_loss(const torch::Tensor& hidden, const torch::Tensor& targets);
  torch::Tensor rtd_loss(const MaskedBatch& batch, const FeatureMap& features, const torch::Tensor& main_hidden);
  ModelConfig config_, resolved_;
  MaskingScheme scheme_;
};

}  // namespace seqrec::model
