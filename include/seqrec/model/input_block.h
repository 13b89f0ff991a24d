#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/moduledict.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <unordered_map>

#include "seqrec/model/batch.h"
#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/model_config.h"

namespace seqrec::model {

/// One continuous feature as a vector: a Linear + ReLU projection, or a soft one-hot embedding (softmax over
/// learned bins, then a weighted sum of the bins' embeddings).
class ContinuousEncoderImpl : public torch::nn::Module {
 public:
  explicit ContinuousEncoderImpl(const FeatureConfig& feature);
  /// values [...] float -> [..., dim]
  torch::Tensor forward(const torch::Tensor& values);

  torch::nn::Linear projection{nullptr};
  torch::nn::Embedding bins{nullptr};
};
TORCH_MODULE(ContinuousEncoder);

/// The input block: item embedding (optionally pre-trained, frozen), side features (embedded or projected, each
/// with its own LayerNorm), aggregated into d_model; then the learnable [MASK] vector at masked positions, and dropout.
class InputBlockImpl : public torch::nn::Module {
 public:
  explicit InputBlockImpl(const ModelConfig& resolved);
  /// items [B, L] int64, masked [B, L] bool (or undefined). Returns [B, L, d_model]. A list feature shorter than
  /// the items (inference's appended [MASK] position) is padded with 0.
  torch::Tensor forward(const torch::Tensor& items, const torch::Tensor& masked, const FeatureMap& features = {});

  torch::nn::Embedding item_embedding{nullptr};
  torch::nn::LayerNorm item_norm{nullptr};
  torch::nn::ModuleDict categorical{nullptr}, continuous{nullptr}, feature_norms{nullptr};
  torch::nn::Linear projection{nullptr};  ///< concat -> d_model, when the sizes differ
  torch::Tensor mask_embedding;           ///< [d_model]; only for mlm, plm and rtd
  FastDropout dropout{nullptr};

 private:
  ModelConfig config_;
};
TORCH_MODULE(InputBlock);

/// Reads pre-trained item vectors ("<item id> v1 .. vE" per line, '#' comments) into `weight` [N, E]; throws
/// InvalidInput with file:line for a bad id or a wrong number of values.
void load_item_vectors(const std::string& path, torch::Tensor& weight);

}  // namespace seqrec::model
