#include "seqrec/model/packed_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdlib>
#include <string>
#include <torch/autograd.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"
#include "seqrec/model/fast_dropout.h"

namespace seqrec::model {

namespace {

/// What one call needs in both passes.
struct Shape {
  int64_t sessions, heads, head_size, width;  // width: D, one of q, k or v per token
  int64_t longest;                            // the longest session, for the dropout counters
  float scale;                                // 1 / sqrt(head_size)
  float keep_scale;                           // 1 / (1 - p), or 1 without dropout
  uint32_t threshold;                         // dropout: drop when the hash's top 24 bits are below
  uint32_t seed;
  bool causal, dropout;
};

inline float dot(const float* a, const float* b, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // eight partial sums: the compiler vectorises them
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int u = 0; u < 8; ++u) acc[u] += a[k + u] * b[k + u];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < n; ++k) s += a[k] * b[k];
  return s;
}

inline void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += a * x[k];
}

/// The dropout multiplier of weight (token t, head h, key j): 0 or 1 / (1 - p).
inline float keep(const Shape& s, int64_t t, int64_t h, int64_t j) {
  if (!s.dropout) return 1.0f;
  const auto counter = static_cast<uint32_t>((t * s.heads + h) * s.longest + j);
  return dropout_keeps(s.seed, counter, s.threshold) ? s.keep_scale : 0.0f;
}

/// One session's forward: context rows and the softmax weights ([heads][n][n], zero where not allowed).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void session_forward(const Shape& s, const float* qkv, int64_t first,
                                                                           int64_t n, float* probs, float* context) {
  const int64_t D = s.width, Dh = s.head_size, row = 3 * D;
  for (int64_t h = 0; h < s.heads; ++h) {
    for (int64_t i = 0; i < n; ++i) {
      const float* q = qkv + (first + i) * row + h * Dh;
      float* p = probs + (h * n + i) * n;
      const int64_t seen = s.causal ? i + 1 : n;
      float top = -INFINITY;
      for (int64_t j = 0; j < seen; ++j) {
        p[j] = dot(q, qkv + (first + j) * row + D + h * Dh, Dh) * s.scale;
        top = std::max(top, p[j]);
      }
      float total = 0.0f;
      for (int64_t j = 0; j < seen; ++j) total += (p[j] = std::exp(p[j] - top));
      const float inv = 1.0f / total;
      for (int64_t j = 0; j < seen; ++j) p[j] *= inv;
      for (int64_t j = seen; j < n; ++j) p[j] = 0.0f;
      float* c = context + (first + i) * D + h * Dh;
      for (int64_t j = 0; j < seen; ++j) {
        const float w = p[j] * keep(s, first + i, h, j);
        if (w != 0.0f) axpy(w, qkv + (first + j) * row + 2 * D + h * Dh, c, Dh);
      }
    }
  }
}

/// One session's backward into its rows of dqkv (sessions never share rows, so sessions run in parallel).
__attribute__((target_clones("arch=x86-64-v3", "default"))) void session_backward(const Shape& s, const float* qkv, const float* probs,
                                                                            const float* grad, int64_t first, int64_t n,
                                                                            float* dqkv, float* scratch) {
  const int64_t D = s.width, Dh = s.head_size, row = 3 * D;
  for (int64_t h = 0; h < s.heads; ++h) {
    for (int64_t i = 0; i < n; ++i) {
      const float* g = grad + (first + i) * D + h * Dh;  // d context_i
      const float* p = probs + (h * n + i) * n;
      const int64_t seen = s.causal ? i + 1 : n;
      float weighted = 0.0f;  // sum_j p_j dp_j, the softmax's backward
      for (int64_t j = 0; j < seen; ++j) {
        const float m = keep(s, first + i, h, j);
        const float* v = qkv + (first + j) * row + 2 * D + h * Dh;
        if (m != 0.0f) axpy(p[j] * m, g, dqkv + (first + j) * row + 2 * D + h * Dh, Dh);  // d v_j
        scratch[j] = m != 0.0f ? dot(g, v, Dh) * m : 0.0f;                                 // d p_j
        weighted += p[j] * scratch[j];
      }
      const float* q = qkv + (first + i) * row + h * Dh;
      float* dq = dqkv + (first + i) * row + h * Dh;
      for (int64_t j = 0; j < seen; ++j) {
        const float ds = p[j] * (scratch[j] - weighted) * s.scale;  // d score_ij
        if (ds == 0.0f) continue;
        axpy(ds, qkv + (first + j) * row + D + h * Dh, dq, Dh);  // d q_i += ds k_j
        axpy(ds, q, dqkv + (first + j) * row + D + h * Dh, Dh);  // d k_j += ds q_i
      }
    }
  }
}

/// Where each session's softmax weights start in the saved buffer ([heads][n][n] per session); sets s.longest.
std::vector<int64_t> weight_offsets(const int64_t* off, Shape& s) {
  std::vector<int64_t> out(s.sessions + 1, 0);
  for (int64_t b = 0; b < s.sessions; ++b) {
    const int64_t n = off[b + 1] - off[b];
    s.longest = std::max(s.longest, n);
    out[b + 1] = out[b] + s.heads * n * n;
  }
  return out;
}

class PackedAttention : public torch::autograd::Function<PackedAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv_in, const at::Tensor& offsets_in,
                            int64_t num_heads, bool causal, double dropout, bool training) {
    auto qkv = qkv_in.contiguous();
    auto offsets = offsets_in.contiguous();
    const int64_t N = qkv.size(0), D = qkv.size(1) / 3, B = offsets.size(0) - 1;
    SEQREC_CHECK(qkv.size(1) == 3 * D && D % num_heads == 0, "packed_attention: qkv width ", qkv.size(1),
                 " is not 3 x a multiple of ", num_heads, " heads");
    const int64_t* off = offsets.data_ptr<int64_t>();
    SEQREC_CHECK(off[0] == 0 && off[B] == N, "packed_attention: offsets do not cover the ", N, " tokens");
    Shape s{B, num_heads, D / num_heads, D, 1, 0, 1, 0, 0, causal, training && dropout > 0};
    s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_size)));
    const auto prob_offsets = weight_offsets(off, s);
    if (s.dropout) {
      s.keep_scale = static_cast<float>(1.0 / (1.0 - dropout));
      s.threshold = dropout_threshold(dropout);
      s.seed = static_cast<uint32_t>(at::randint(int64_t{1} << 31, {1}, step_generator(), at::kLong).item<int64_t>());
    }
    auto probs = at::empty({prob_offsets[B]}, qkv.options());
    auto context = at::zeros({N, D}, qkv.options());
    const float* pq = qkv.data_ptr<float>();
    float* pp = probs.data_ptr<float>();
    float* pc = context.data_ptr<float>();
    at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) session_forward(s, pq, off[b], off[b + 1] - off[b], pp + prob_offsets[b], pc);
    });
    ctx->save_for_backward({qkv, offsets, probs});
    ctx->saved_data["heads"] = num_heads;
    ctx->saved_data["causal"] = causal;
    ctx->saved_data["dropout"] = s.dropout;
    ctx->saved_data["keep_scale"] = static_cast<double>(s.keep_scale);
    ctx->saved_data["threshold"] = static_cast<int64_t>(s.threshold);
    ctx->saved_data["seed"] = static_cast<int64_t>(s.seed);
    return context;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& qkv = saved[0];
    const auto& offsets = saved[1];
    const auto& probs = saved[2];
    auto grad = grads[0].contiguous();
    const int64_t N = qkv.size(0), D = qkv.size(1) / 3, B = offsets.size(0) - 1;
    const int64_t heads = ctx->saved_data["heads"].toInt();
    Shape s{B, heads, D / heads, D, 1, 0, static_cast<float>(ctx->saved_data["keep_scale"].toDouble()),
            static_cast<uint32_t>(ctx->saved_data["threshold"].toInt()), static_cast<uint32_t>(ctx->saved_data["seed"].toInt()),
            ctx->saved_data["causal"].toBool(), ctx->saved_data["dropout"].toBool()};
    s.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(s.head_size)));
    const int64_t* off = offsets.data_ptr<int64_t>();
    const auto prob_offsets = weight_offsets(off, s);
    auto dqkv = at::zeros({N, 3 * D}, qkv.options());
    const float* pq = qkv.data_ptr<float>();
    const float* pp = probs.data_ptr<float>();
    const float* pg = grad.data_ptr<float>();
    float* pd = dqkv.data_ptr<float>();
    at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch(s.longest);
      for (int64_t b = begin; b < end; ++b)
        session_backward(s, pq, pp + prob_offsets[b], pg, off[b], off[b + 1] - off[b], pd, scratch.data());
    });
    return {dqkv, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool cpu_attention_kernels_enabled() {
  // SEQREC_ATTENTION=sdpa sends the CPU through LibTorch's fused attention too: bench/perf.sh compares the two.
  static const bool enabled = [] {
    const char* choice = std::getenv("SEQREC_ATTENTION");
    return choice == nullptr || std::string(choice) != "sdpa";
  }();
  return enabled;
}

bool packed_attention_applies(const at::Tensor& qkv) {
  return qkv.device().is_cpu() && qkv.scalar_type() == at::kFloat && cpu_attention_kernels_enabled();
}

at::Tensor packed_attention(const at::Tensor& qkv, const at::Tensor& offsets, int64_t num_heads, bool causal, double dropout,
                            bool training) {
  SEQREC_CHECK(packed_attention_applies(qkv), "packed_attention: needs float CPU tensors");
  SEQREC_CHECK(offsets.scalar_type() == at::kLong && offsets.device().is_cpu(), "packed_attention: offsets must be int64 on the CPU");
  return PackedAttention::apply(qkv, offsets, num_heads, causal, dropout, training);
}

}  // namespace seqrec::model
