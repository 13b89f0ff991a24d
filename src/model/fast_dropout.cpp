#include "seqrec/model/fast_dropout.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"

namespace seqrec::model {

namespace {
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

at::Tensor fast_dropout(const at::Tensor& x, double p, bool training) {
  SEQREC_CHECK(p >= 0 && p < 1, "dropout probability must be in [0, 1), got ", p);
  if (!training || p == 0 || x.numel() == 0) return x;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat) return at::dropout(x, p, training);
  // One draw per call from the step generator (LibTorch's default unless a replica set its own) keeps runs seeded.
  const uint64_t seed = static_cast<uint64_t>(at::randint(int64_t{1} << 62, {1}, step_generator(), at::kLong).item<int64_t>());
  auto mask = at::empty(x.sizes(), x.options().requires_grad(false));
  float* m = mask.data_ptr<float>();
  // Keep when the top 24 bits of the hash, as a fraction, are >= p.
  const uint64_t threshold = static_cast<uint64_t>(p * static_cast<double>(1ull << 24));
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  at::parallel_for(0, mask.numel(), 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) m[i] = (splitmix64(seed + static_cast<uint64_t>(i)) >> 40) >= threshold ? scale : 0.0f;
  });
  return x * mask;
}

FastDropoutImpl::FastDropoutImpl(double p) : p_(p) {
  SEQREC_CHECK(p >= 0 && p < 1, "dropout probability must be in [0, 1), got ", p);
}

}  // namespace seqrec::model
