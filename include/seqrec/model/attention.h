#pragma once
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/model_config.h"

namespace seqrec::model {

/// softmax over the last dim of `scores` with `blocked` (broadcastable, true = not allowed) positions at zero
/// weight. A row with every key blocked gets all-zero weights (and finite gradients) instead of NaN.
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& blocked);

/// [B, 1, Lq, Lk] bool, true where query i must not see key j: padding keys, future keys when `causal`
/// (Lq == Lk), and `extra` ([B, Lq, Lk] bool, e.g. a permutation mask) when defined.
torch::Tensor attention_block_mask(const torch::Tensor& key_padding, int64_t num_queries, bool causal,
                                   const torch::Tensor& extra = {});

/// The real (non-padding) tokens of a [B, L] batch as rows of x.view({B * L, ...}). Token-wise layers (projections,
/// MLP, norms, dropout) then run on those rows only; attention unpacks them to [B, L, ...] and back. Training
/// batches are mostly padding (sessions padded to the longest in the batch), so this skips most of their work.
struct TokenPacking {
  torch::Tensor index;    ///< [N] int64: b * L + l for every real token, in order
  torch::Tensor offsets;  ///< [B + 1] int64: row b's tokens are the packed rows [offsets[b], offsets[b + 1])
  int64_t batch = 0, length = 0;
  /// Set by the body when its attention mask blocks exactly the padding keys (and, with `causal`, the future
  /// ones): attention then runs packed_attention on the packed rows, each session at its own length, instead
  /// of unpacking them to [B, L].
  bool plain_attention = false, causal = false;

  static TokenPacking of(const torch::Tensor& padding);  ///< padding: [B, L] bool, true on padding
  /// True when at least 10% of the positions are padding (below that, packing costs more than it saves).
  bool worthwhile() const;
  torch::Tensor pack(const torch::Tensor& x) const;       ///< [B, L, C] -> [N, C]
  torch::Tensor unpack(const torch::Tensor& rows) const;  ///< [N, C] -> [B, L, C], zeros on padding
};

/// Multi-head scaled dot-product self-attention (one fused q/k/v projection).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t d_model, int64_t num_heads, double dropout);
  /// x: [B, L, D]; blocked: [B, 1, L, L] bool. Returns [B, L, D], or with query_rows [B] (one query position
  /// per row; keys and values stay every position) [B, 1, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& blocked, const torch::Tensor& query_rows = {});
  /// The same on packed rows [N, D] of `packing`'s tokens; returns [N, D].
  torch::Tensor forward_packed(const torch::Tensor& rows, const torch::Tensor& blocked, const TokenPacking& packing);

  torch::nn::Linear qkv{nullptr}, out{nullptr};
  FastDropout attention_dropout{nullptr}, residual_dropout{nullptr};
  int64_t num_heads() const { return num_heads_; }

 private:
  /// projected: qkv's output [B, L, 3D]. Returns the heads' context [B, Lq, D] (Lq = 1 with query_rows).
  torch::Tensor attend(const torch::Tensor& projected, const torch::Tensor& blocked, const torch::Tensor& query_rows);
  /// Attention through at::scaled_dot_product_attention: GPUs and reduced precision (the CPU float path keeps
  /// seqrec's own kernels, measured faster there; bench/NOTES.md).
  torch::Tensor fused_attention(const torch::Tensor& queries, const torch::Tensor& keys, const torch::Tensor& values,
                                const torch::Tensor& blocked);

  int64_t num_heads_;
};
TORCH_MODULE(MultiHeadAttention);

/// The options of one transformer layer (TransformerLayer, RelativeLayer), in the LibTorch idiom:
/// `TransformerLayerOptions(64, 2).inner_size(256).dropout(0.1).pre_norm(true)`.
struct TransformerLayerOptions {
  TransformerLayerOptions(int64_t d_model, int64_t num_heads) : d_model_(d_model), num_heads_(num_heads) {}
  /// The layer options of a resolved model config's body.
  static TransformerLayerOptions from(const ModelConfig& config);
  int64_t resolved_inner_size() const { return inner_size_ > 0 ? inner_size_ : 4 * d_model_; }

  TORCH_ARG(int64_t, d_model);
  TORCH_ARG(int64_t, num_heads);
  TORCH_ARG(int64_t, inner_size) = 0;  ///< feed-forward width; 0 = 4 * d_model
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(bool, pre_norm) = false;   ///< GPT-2's x + f(ln(x)); false: BERT's ln(x + f(x))
  TORCH_ARG(Activation, activation) = Activation::kGelu;
};

/// A transformer layer: attention then a feed-forward MLP, each with a residual. Pre-LayerNorm (GPT-2:
/// x + f(ln(x))) or post-LayerNorm (BERT: ln(x + f(x))).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  explicit TransformerLayerImpl(const TransformerLayerOptions& options);
  /// [B, L, D], or [B, 1, D] for the positions query_rows [B] when given (the rest of the layer is skipped).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& blocked, const torch::Tensor& query_rows = {});
  /// The same on packed rows [N, D] of `packing`'s tokens (see TokenPacking); returns [N, D].
  torch::Tensor forward_packed(const torch::Tensor& rows, const torch::Tensor& blocked, const TokenPacking& packing);

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  MultiHeadAttention attention{nullptr};
  torch::nn::Linear mlp_in{nullptr}, mlp_out{nullptr};
  FastDropout mlp_dropout{nullptr};
  bool pre_norm() const { return pre_norm_; }
  bool relu() const { return relu_; }

 private:
  torch::Tensor mlp(const torch::Tensor& x);

  bool pre_norm_;
  bool relu_;
};
TORCH_MODULE(TransformerLayer);

/// gelu or relu by name.
torch::Tensor activate(const torch::Tensor& x, bool relu);

/// GPT-2's initialisation, used by every transformer body: N(0, 0.02) weights, zero biases, LayerNorms as built.
void init_transformer_weights(torch::nn::Module& module);

}  // namespace seqrec::model
