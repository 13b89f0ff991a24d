#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <mutex>
#include <vector>

#include "seqrec/model/model_config.h"
#include "seqrec/model/packed_items.h"

namespace seqrec::model {

/// Next-item prediction over the catalogue: tied to the item embedding (through `projection` when d_model
/// differs from the item size) or a separate `output` layer; optional per-item bias; logits / temperature;
/// with `normalize`, cosine similarity (both sides L2-normalised, as NISER) / temperature.
/// Losses: full softmax cross-entropy (label smoothing), sampled softmax (log-uniform negatives with logQ
/// correction, or the batch's other targets), or SASRec's binary cross-entropy on sampled negatives.
/// Ids below the schema's first item id (padding, null, OOV and hashed-OOV buckets) are never scored.
class NextItemHeadImpl : public torch::nn::Module {
 public:
  NextItemHeadImpl(const ModelConfig& resolved, torch::nn::Embedding item_embedding);
  /// hidden [..., D] -> [..., num_items] logits (already divided by the temperature).
  torch::Tensor logits(const torch::Tensor& hidden);
  /// The k best items for hidden [M, D]: {logits [M, k'], ids [M, k']}, best first, as logits(hidden).topk(k)
  /// but without the [M, num_items] matrix when it runs on the CPU without autograd (model::top_k_inner_product).
  std::pair<torch::Tensor, torch::Tensor> top_k(const torch::Tensor& hidden, int64_t k);
  /// Mean loss of predicting targets [M] (ids >= first_item_id) from hidden [M, D].
  torch::Tensor loss(const torch::Tensor& hidden, const torch::Tensor& targets);

  /// Scores of `candidates` ([M, C] or [C]) for hidden [M, D] -> [M, C], bias and temperature included.
  torch::Tensor candidate_logits(const torch::Tensor& hidden, const torch::Tensor& candidates);
  /// The sampled-softmax loss with explicit negatives [S], their log expected counts [S] (logQ) and the targets'
  /// [M]: every logit, the positive's included, is corrected by its logQ.
  torch::Tensor sampled_softmax_loss(const torch::Tensor& hidden, const torch::Tensor& targets, const torch::Tensor& negatives,
                                     const torch::Tensor& log_q, const torch::Tensor& target_log_q);

  /// logits [B, num_items] + head.repeat_bonus on each item of items [B, L] (right-padded to lengths [B]), once.
  torch::Tensor add_repeat_bonus(const torch::Tensor& logits, const torch::Tensor& items, const torch::Tensor& lengths);
  /// top_k for hidden [B, D] with the repeat bonus: the best k + L by plain score hold the best k items outside
  /// the history; the history items join them with their bonus.
  std::pair<torch::Tensor, torch::Tensor> top_k_with_repeats(const torch::Tensor& hidden, const torch::Tensor& items,
                                                             const torch::Tensor& lengths, int64_t k);

  torch::nn::Linear projection{nullptr}, output{nullptr};
  torch::Tensor bias;           ///< [num_items] when head.output_bias
  torch::Tensor reserved_bias;  ///< buffer [num_items]: -inf on the reserved ids

 private:
  torch::Tensor item_vectors(const torch::Tensor& ids);  ///< [.., E or D] output vectors of ids
  torch::Tensor project(const torch::Tensor& hidden);
  torch::Tensor unit(const torch::Tensor& vectors) const;  ///< L2-normalised rows when head.normalize, else as is
  HeadConfig config_;
  int64_t num_items_;
  int64_t first_item_id_;
  /// top_k's packed copy of the output vectors, rebuilt when a weight changes (storage or in-place version).
  struct Packed {
    std::vector<std::pair<const void*, int64_t>> sources;
    std::shared_ptr<const PackedItems> items;
  };
  std::shared_ptr<std::mutex> packed_mutex_ = std::make_shared<std::mutex>();
  Packed packed_;
  torch::nn::Embedding item_embedding_{nullptr};  ///< shared with the input block, not registered twice
};
TORCH_MODULE(NextItemHead);

/// Log-uniform (Zipfian) negatives over ids first_item_id..num_items-1, whose ids are in descending frequency order
/// (Categorify): P(id) = log((k + 2) / (k + 1)) / log(R + 1) with k = id - first_item_id, R = num_items - first_item_id.
/// Returns {ids [S] int64, log expected count log(S * P(id)) [S] float}.
std::pair<torch::Tensor, torch::Tensor> sample_log_uniform(int64_t num_items, int64_t first_item_id, int64_t num_samples,
                                                           c10::Device device);
/// The log expected count log(S * P(id)) of ids [M] under that sampler, for the positives' logQ correction.
torch::Tensor log_uniform_log_q(const torch::Tensor& ids, int64_t num_items, int64_t first_item_id, int64_t num_samples);

/// The session summary a session-level task reads: hidden [B, L, D], padding [B, L] -> [B, D].
torch::Tensor summarize(const torch::Tensor& hidden, const torch::Tensor& padding, SessionSummary summary);

/// Binary classification or regression on a session summary (an MLP D -> D -> 1).
class SessionTaskHeadImpl : public torch::nn::Module {
 public:
  SessionTaskHeadImpl(const TaskConfig& task, int64_t d_model);
  /// [B] logits (binary) or predictions (regression).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& padding);
  /// Binary cross-entropy with logits, or mean squared error, against targets [B] float.
  torch::Tensor loss(const torch::Tensor& hidden, const torch::Tensor& padding, const torch::Tensor& targets);

  torch::nn::Linear hidden_layer{nullptr}, output{nullptr};
  const TaskConfig& task() const { return task_; }

 private:
  TaskConfig task_;
};
TORCH_MODULE(SessionTaskHead);

}  // namespace seqrec::model
