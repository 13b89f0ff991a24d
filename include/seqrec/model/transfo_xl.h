#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/body.h"

namespace seqrec::model {

/// Transformer-XL: causal post-LayerNorm layers with relative positional attention and segment memory. The
/// session is processed in segments of body.segment_length; each layer also attends to the gradient-stopped
/// inputs it saw over the last body.memory_length positions of earlier segments.
class TransfoXlBodyImpl : public BodyImpl {
 public:
  explicit TransfoXlBodyImpl(const ModelConfig& config);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::ModuleList layers{nullptr};
  FastDropout dropout{nullptr};

 private:
  int64_t d_model_, segment_length_, memory_length_;
};

}  // namespace seqrec::model
