#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/body.h"

namespace seqrec::model {

/// BERT: learned positions, an embedding LayerNorm, post-LayerNorm bidirectional layers (causal under clm).
/// With `share_layers` one layer's weights serve every depth (ALBERT).
class BertBodyImpl : public BodyImpl {
 public:
  BertBodyImpl(const ModelConfig& config, bool share_layers = false, int64_t num_layers = 0);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::Embedding position_embedding{nullptr};
  torch::nn::LayerNorm ln_embedding{nullptr};
  FastDropout embedding_dropout{nullptr};
  torch::nn::ModuleList blocks{nullptr};

 private:
  int64_t depth_;
};

}  // namespace seqrec::model
