#pragma once
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

namespace seqrec::train {

/// torch::optim::AdamW whose step runs LibTorch 2.x's fused kernel (aten::_fused_adamw_: one pass over each
/// parameter instead of about ten) on the same per-parameter state, so checkpoints stay LibTorch's own format.
class FusedAdamW : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// torch::optim::Adam (weight decay as an L2 penalty) through aten::_fused_adam_, likewise.
class FusedAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;
  torch::Tensor step(LossClosure closure = nullptr) override;
};

}  // namespace seqrec::train
