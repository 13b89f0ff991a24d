#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <utility>

#include "seqrec/model/attention.h"
#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/model_config.h"

namespace seqrec::model {

/// Sinusoidal embeddings of relative distances (Transformer-XL / XLNet): distances [R] float -> [R, D] as
/// cat(sin(d * f), cos(d * f)) with f_k = 10000^(-2k/D).
torch::Tensor sinusoid_embedding(const torch::Tensor& distances, int64_t d_model);

/// Position-wise work on the real positions only. `rows`: the flat indices (into B * L) of the positions that are
/// not padding, or undefined for all of them. Padded batches of short sessions are mostly padding (yoochoose:
/// 72% at length 20), and the projections and feed-forward layers are most of a layer's work; padding keys are
/// blocked and padding outputs unread, so their rows may stay zero.
struct RealRows {
  torch::Tensor rows;  ///< [N] int64, or undefined: every position
  /// f applied to the real rows of x [B, L, E] -> [B, L, F], zero elsewhere.
  template <typename F>
  torch::Tensor apply(const torch::Tensor& x, F&& f) const {
    if (!rows.defined()) return f(x);
    auto out = f(x.reshape({-1, x.size(-1)}).index_select(0, rows));
    return torch::zeros({x.size(0) * x.size(1), out.size(-1)}, out.options()).index_copy(0, rows, out).view({x.size(0), x.size(1), -1});
  }
  /// The real rows of every position of padding [B, L] (true on padding); undefined when there is none.
  static RealRows of(const torch::Tensor& padding);
};

/// Multi-head attention with Transformer-XL's relative positions: score(i, j) = (q_i + u) · k_j + (q_i + v) · r_{i-j},
/// where i - j is the distance from key j to query i and u, v are the learned global biases (r_w_bias, r_r_bias).
class RelativeAttentionImpl : public torch::nn::Module {
 public:
  RelativeAttentionImpl(int64_t d_model, int64_t num_heads, double dropout);

  /// Per-head keys, values and relative-position keys, shared by XLNet's two streams.
  struct Keys {
    torch::Tensor k, v;  ///< [B, H, Lk, Dh]
    torch::Tensor kr;    ///< [H, R, Dh]
  };
  /// kv: [B, Lk, D] (memory then the current segment); r: [R, D] embeddings of the distances
  /// first_distance, first_distance - 1, ..., first_distance - R + 1.
  Keys keys(const torch::Tensor& kv, const torch::Tensor& r, const RealRows& real = {});
  /// Output projection of the attention for queries x [B, Lq, D] (query i sits at key position Lk - Lq + i);
  /// blocked: [B, 1, Lq, Lk] bool. Returns [B, Lq, D] (no residual).
  torch::Tensor attend(const torch::Tensor& x, const Keys& keys, const torch::Tensor& blocked, int64_t first_distance,
                       const RealRows& real = {});

  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, r{nullptr}, o{nullptr};
  torch::Tensor r_w_bias, r_r_bias;  ///< [H, Dh]
  FastDropout attention_dropout{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(RelativeAttention);

/// A post-LayerNorm layer around RelativeAttention: h = ln(x + attn), out = ln(h + ffn(h)) (XLNet, Transformer-XL).
class RelativeLayerImpl : public torch::nn::Module {
 public:
  /// Post-LayerNorm always: options.pre_norm() must be false.
  explicit RelativeLayerImpl(const TransformerLayerOptions& options);
  /// One stream: h [B, Lq, D]; memory [B, M, D] or undefined; blocked [B, 1, Lq, M + Lq].
  torch::Tensor forward(const torch::Tensor& h, const torch::Tensor& memory, const torch::Tensor& r,
                        const torch::Tensor& blocked, int64_t first_distance);
  /// One stream without memory whose position-wise work runs on the real rows only (padding rows come out zero).
  torch::Tensor forward_real(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& blocked,
                             int64_t first_distance, const RealRows& real);
  /// XLNet's two streams: the content stream h and the query stream g (which sees content, never its own item).
  std::pair<torch::Tensor, torch::Tensor> forward_two_stream(const torch::Tensor& h, const torch::Tensor& g,
                                                             const torch::Tensor& r, const torch::Tensor& content_blocked,
                                                             const torch::Tensor& query_blocked, int64_t first_distance);

  RelativeAttention attention{nullptr};
  torch::nn::LayerNorm ln_attention{nullptr}, ln_ffn{nullptr};
  torch::nn::Linear ffn_in{nullptr}, ffn_out{nullptr};
  FastDropout dropout{nullptr};

 private:
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& attended, const RealRows& real = {});
  bool relu_;
};
TORCH_MODULE(RelativeLayer);

}  // namespace seqrec::model
