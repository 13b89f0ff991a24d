#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "seqrec/model/session_model.h"

namespace seqrec::model {

/// Multi-head self-attention with the causal and padding masks applied inside, never left to the caller.
class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  CausalSelfAttentionImpl(int64_t d_model, int64_t num_heads, double dropout);
  /// x: [B, L, D]; key_padding: [B, L] true where the position is padding. Returns [B, L, D].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_padding);

  torch::nn::Linear qkv{nullptr}, out{nullptr};
  torch::nn::Dropout attention_dropout{nullptr}, residual_dropout{nullptr};

 private:
  int64_t num_heads_;
};
TORCH_MODULE(CausalSelfAttention);

/// A pre-LayerNorm GPT-2 block: x + attn(ln(x)), then x + mlp(ln(x)).
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t d_model, int64_t num_heads, double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_padding);

  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  CausalSelfAttention attention{nullptr};
  torch::nn::Linear mlp_in{nullptr}, mlp_out{nullptr};
  torch::nn::Dropout mlp_dropout{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// GPT-2-style next-item model: item + learned position embeddings, causal blocks, a final LayerNorm,
/// and an output layer tied to the item embedding. Padding id 0; ids 0..2 are never recommended.
class Gpt2Impl : public SessionModel {
 public:
  explicit Gpt2Impl(const ModelConfig& config);
  /// items: [B, L] int64 right-padded with 0. Returns hidden states [B, L, D].
  torch::Tensor forward(const torch::Tensor& items);
  /// Scores over the catalogue for hidden states [..., D] -> [..., num_items]; reserved ids get -inf.
  torch::Tensor logits(const torch::Tensor& hidden);
  /// Scores for the next item after each session's last position; lengths: [B] int64 (>= 1).
  torch::Tensor next_item_scores(const torch::Tensor& items, const torch::Tensor& lengths) override;
  /// Causal LM: full-catalogue cross-entropy of items[t+1] given items[..t] at every non-padded position.
  torch::Tensor training_loss(const torch::Tensor& items) override;
  int64_t training_sequence_length() const override { return config_.max_length + 1; }
  const ModelConfig& config() const override { return config_; }

  torch::nn::Embedding item_embedding{nullptr}, position_embedding{nullptr};
  torch::nn::Dropout embedding_dropout{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm ln_final{nullptr};

 private:
  ModelConfig config_;
  torch::Tensor reserved_bias_;
};
TORCH_MODULE(Gpt2);

}  // namespace seqrec::model
