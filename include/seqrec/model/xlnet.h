#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/body.h"

namespace seqrec::model {

/// XLNet: post-LayerNorm layers with Transformer-XL relative positional attention (sinusoidal distances,
/// both directions). Under plm it runs two streams: the content stream sees the permutation's context and
/// itself; the query stream (started from a learned vector) sees the same context but never its own item,
/// and is what predicts the target_mapping positions. Under clm/mlm one content stream.
class XlnetBodyImpl : public BodyImpl {
 public:
  explicit XlnetBodyImpl(const ModelConfig& config);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::ModuleList layers{nullptr};
  torch::Tensor query_embedding;  ///< [D]: the query stream's input
  FastDropout dropout{nullptr};

 private:
  int64_t d_model_;
};

}  // namespace seqrec::model
