#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace seqrec::model {

/// Inverted dropout: zeroes each element with probability `p` and scales the rest by 1/(1-p) in training;
/// the identity otherwise. On CPU float tensors the mask comes from a counter-based hash seeded by one draw
/// from the step generator (common/random.h), so runs still repeat for a seed, and the backward pass
/// recomputes it instead of storing it: LibTorch 1.13's CPU bernoulli_ draws one Mersenne-Twister number per
/// element and took ~19% of a training step's instructions (bench/NOTES.md). Other devices and dtypes use
/// torch::dropout.
at::Tensor fast_dropout(const at::Tensor& x, double p, bool training);

/// The drop test fast_dropout and packed_attention share. A 32-bit hash (Wellons' lowbias32) of the element's
/// counter under `seed`: 32-bit multiplies vectorise with AVX2, 64-bit ones do not.
inline uint32_t dropout_threshold(double p) { return static_cast<uint32_t>(p * 16777216.0); }
inline bool dropout_keeps(uint32_t seed, uint32_t counter, uint32_t threshold) {
  uint32_t x = counter * 0x9e3779b1u + seed;
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return (x >> 8) >= threshold;  // the top 24 bits as a fraction of 2^24, against p
}

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
