#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace seqrec::model {

/// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1-p) in training;
/// the identity otherwise. On CPU float tensors the mask comes from a counter-based hash (splitmix64)
/// seeded from LibTorch's generator, so runs still repeat for a seed: LibTorch 1.13's CPU bernoulli_
/// draws one Mersenne-Twister number per element and took ~19% of a training step's instructions
/// (bench/NOTES.md). Other devices and dtypes use torch::dropout.
at::Tensor fast_dropout(const at::Tensor& x, double p, bool training);

/// A module wrapper with torch::nn::Dropout's interface.
class FastDropoutImpl : public torch::nn::Module {
 public:
  explicit FastDropoutImpl(double p = 0.5);
  at::Tensor forward(const at::Tensor& x) { return fast_dropout(x, p_, is_training()); }
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(FastDropout);

}  // namespace seqrec::model
