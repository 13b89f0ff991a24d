#include "seqrec/model/fast_dropout.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/autograd.h>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"

namespace seqrec::model {

namespace {

/// out[i] = in[i] x (1 / (1 - p) where element i is kept, else 0): the forward on x and the backward on its
/// gradient, the same mask both times. Written as a multiply by 0 or the scale so that GCC vectorises the hash.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void apply_mask(const float* __restrict in, float* __restrict out,
                                                                            int64_t begin, int64_t end, uint32_t seed,
                                                                            uint32_t threshold, float scale) {
  const auto first = static_cast<uint32_t>(begin);
  for (int64_t i = 0; i < end - begin; ++i) {
    const float keep = dropout_keeps(seed, first + static_cast<uint32_t>(i), threshold) ? scale : 0.0f;
    out[begin + i] = in[begin + i] * keep;
  }
}

at::Tensor masked(const at::Tensor& in_any, uint32_t seed, uint32_t threshold, float scale) {
  auto in = in_any.contiguous();
  auto out = at::empty_like(in);
  const float* pi = in.data_ptr<float>();
  float* po = out.data_ptr<float>();
  at::parallel_for(0, in.numel(), 1 << 14,
                   [&](int64_t begin, int64_t end) { apply_mask(pi, po, begin, end, seed, threshold, scale); });
  return out;
}

class FastDropoutFunction : public torch::autograd::Function<FastDropoutFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, double p) {
    // One draw per call from the step generator (LibTorch's default unless a replica set its own) keeps runs seeded.
    const auto seed = static_cast<uint32_t>(at::randint(int64_t{1} << 31, {1}, step_generator(), at::kLong).item<int64_t>());
    const uint32_t threshold = dropout_threshold(p);
    const auto scale = static_cast<float>(1.0 / (1.0 - p));
    ctx->saved_data["seed"] = static_cast<int64_t>(seed);
    ctx->saved_data["threshold"] = static_cast<int64_t>(threshold);
    ctx->saved_data["scale"] = static_cast<double>(scale);
    return masked(x, seed, threshold, scale);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {masked(grads[0], static_cast<uint32_t>(ctx->saved_data["seed"].toInt()),
                   static_cast<uint32_t>(ctx->saved_data["threshold"].toInt()),
                   static_cast<float>(ctx->saved_data["scale"].toDouble())),
            at::Tensor()};
  }
};
}  // namespace

at::Tensor fast_dropout(const at::Tensor& x, double p, bool training) {
  SEQREC_CHECK(p >= 0 && p < 1, "dropout probability must be in [0, 1), got ", p);
  if (!training || p == 0 || x.numel() == 0) return x;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat) return at::dropout(x, p, training);
  SEQREC_CHECK(x.numel() < (int64_t{1} << 32), "fast_dropout: ", x.numel(), " elements are more than its 32-bit counter covers");
  return FastDropoutFunction::apply(x, p);
}

FastDropoutImpl::FastDropoutImpl(double p) : p_(p) {
  SEQREC_CHECK(p >= 0 && p < 1, "dropout probability must be in [0, 1), got ", p);
}

}  // namespace seqrec::model
