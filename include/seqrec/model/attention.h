#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "seqrec/model/fast_dropout.h"

namespace seqrec::model {

/// softmax over the last dim of `scores` with `blocked` (broadcastable, true = not allowed) positions at zero
/// weight. A row with every key blocked gets all-zero weights (and finite gradients) instead of NaN.
torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& blocked);

/// [B, 1, Lq, Lk] bool, true where query i must not see key j: padding keys, future keys when `causal`
/// (Lq == Lk), and `extra` ([B, Lq, Lk] bool, e.g. a permutation mask) when defined.
torch::Tensor attention_block_mask(const torch::Tensor& key_padding, int64_t num_queries, bool causal,
                                   const torch::Tensor& extra = {});

/// Multi-head scaled dot-product self-attention (one fused q/k/v projection).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t d_model, int64_t num_heads, double dropout);
  /// x: [B, L, D]; blocked: [B, 1, L, L] bool. Returns [B, L, D], or with query_rows [B] (one query position
  /// per row; keys and values stay every position) [B, 1, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& blocked, const torch::Tensor& query_rows = {});

  torch::nn::Linear qkv{nullptr}, out{nullptr};
  FastDropout attention_dropout{nullptr}, residual_dropout{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(MultiHeadAttention);

/// A transformer layer: attention then a feed-forward MLP, each with a residual. Pre-LayerNorm (GPT-2:
/// x + f(ln(x))) or post-LayerNorm (BERT: ln(x + f(x))).
class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(int64_t d_model, int64_t num_heads, int64_t inner_size, double dropout, bool pre_norm,
                       const std::string& activation);
  /// [B, L, D], or [B, 1, D] for the positions query_rows [B] when given (the rest of the layer is skipped).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& blocked, const torch::Tensor& query_rows = {});

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  MultiHeadAttention attention{nullptr};
  torch::nn::Linear mlp_in{nullptr}, mlp_out{nullptr};
  FastDropout mlp_dropout{nullptr};

 private:
  bool pre_norm_;
  bool relu_;
};
TORCH_MODULE(TransformerLayer);

/// gelu or relu by name.
torch::Tensor activate(const torch::Tensor& x, bool relu);

/// GPT-2's initialisation, used by every transformer body: N(0, 0.02) weights, zero biases, LayerNorms as built.
void init_transformer_weights(torch::nn::Module& module);

}  // namespace seqrec::model
