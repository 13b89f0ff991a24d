#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/body.h"

namespace seqrec::model {

/// GPT-2: learned positions, pre-LayerNorm causal blocks, a final LayerNorm. Always causal.
class Gpt2BodyImpl : public BodyImpl {
 public:
  explicit Gpt2BodyImpl(const ModelConfig& config);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::Embedding position_embedding{nullptr};
  FastDropout embedding_dropout{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};
};

}  // namespace seqrec::model
