#include "seqrec/model/gpt2.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/init.h>

#include <cmath>
#include <limits>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace F = torch::nn::functional;

CausalSelfAttentionImpl::CausalSelfAttentionImpl(int64_t d_model, int64_t num_heads, double dropout)
    : num_heads_(num_heads) {
  qkv = register_module("qkv", torch::nn::Linear(d_model, 3 * d_model));
  out = register_module("out", torch::nn::Linear(d_model, d_model));
  attention_dropout = register_module("attention_dropout", torch::nn::Dropout(dropout));
  residual_dropout = register_module("residual_dropout", torch::nn::Dropout(dropout));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_padding) {
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2), H = num_heads_, Dh = D / H;
  auto qkv_heads = qkv(x).view({B, L, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, L, Dh]
  auto q = qkv_heads[0], k = qkv_heads[1], v = qkv_heads[2];
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));  // [B, H, L, L]
  // A query may see only keys at or before it that are not padding.
  auto future = torch::ones({L, L}, x.options().dtype(torch::kBool)).triu(1);
  auto blocked = future.view({1, 1, L, L}) | key_padding.view({B, 1, 1, L});
  // Position 0 of a padded row would see no key at all; letting it see itself keeps softmax finite.
  auto diagonal = torch::eye(L, x.options().dtype(torch::kBool)).view({1, 1, L, L});
  blocked = blocked & ~diagonal;
  scores = scores.masked_fill(blocked, -std::numeric_limits<float>::infinity());
  auto weights = attention_dropout(torch::softmax(scores, -1));
  auto context = torch::matmul(weights, v).transpose(1, 2).reshape({B, L, D});
  return residual_dropout(out(context));
}

TransformerBlockImpl::TransformerBlockImpl(int64_t d_model, int64_t num_heads, double dropout) {
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  attention = register_module("attention", CausalSelfAttention(d_model, num_heads, dropout));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  mlp_in = register_module("mlp_in", torch::nn::Linear(d_model, 4 * d_model));
  mlp_out = register_module("mlp_out", torch::nn::Linear(4 * d_model, d_model));
  mlp_dropout = register_module("mlp_dropout", torch::nn::Dropout(dropout));
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& key_padding) {
  auto h = x + attention(ln_1(x), key_padding);
  return h + mlp_dropout(mlp_out(F::gelu(mlp_in(ln_2(h)))));
}

Gpt2Impl::Gpt2Impl(const ModelConfig& config) : config_(config) {
  auto problems = config.problems();
  if (!problems.empty()) {
    std::string msg = "invalid model config:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
  const int64_t D = config.d_model;
  item_embedding = register_module("item_embedding", torch::nn::Embedding(config.num_items, D));
  position_embedding = register_module("position_embedding", torch::nn::Embedding(config.max_length, D));
  embedding_dropout = register_module("embedding_dropout", torch::nn::Dropout(config.dropout));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_layers; ++i) blocks->push_back(TransformerBlock(D, config.num_heads, config.dropout));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({D})));

  // GPT-2's initialisation: N(0, 0.02) for embeddings and linear weights, zero biases.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    if (p.key().find("ln_") != std::string::npos) continue;
    if (p.key().find("bias") != std::string::npos)
      p.value().zero_();
    else
      torch::nn::init::normal_(p.value(), 0.0, 0.02);
  }
  reserved_bias_ = register_buffer("reserved_bias", torch::zeros({config.num_items}));
  reserved_bias_.slice(0, 0, 3).fill_(-std::numeric_limits<float>::infinity());
}

torch::Tensor Gpt2Impl::forward(const torch::Tensor& items) {
  SEQREC_CHECK(items.dim() == 2, "model input must be [batch, length], got ", items.sizes());
  const int64_t L = items.size(1);
  SEQREC_CHECK(L <= config_.max_length, "sequence length ", L, " exceeds the model's max_length ", config_.max_length);
  auto positions = torch::arange(L, items.options());
  auto h = embedding_dropout(item_embedding(items) + position_embedding(positions).unsqueeze(0));
  auto key_padding = items.eq(0);
  for (const auto& block : *blocks) h = block->as<TransformerBlock>()->forward(h, key_padding);
  return ln_final(h);
}

torch::Tensor Gpt2Impl::logits(const torch::Tensor& hidden) {
  return torch::matmul(hidden, item_embedding->weight.t()) + reserved_bias_;
}

torch::Tensor Gpt2Impl::next_item_scores(const torch::Tensor& items, const torch::Tensor& lengths) {
  auto hidden = forward(items);
  auto last = (lengths - 1).clamp_min(0).view({-1, 1, 1}).expand({hidden.size(0), 1, hidden.size(2)});
  return logits(hidden.gather(1, last).squeeze(1));
}

torch::Tensor Gpt2Impl::training_loss(const torch::Tensor& items) {
  auto inputs = items.slice(1, 0, items.size(1) - 1);
  auto targets = items.slice(1, 1);
  // Null and OOV targets cannot be predicted (their logits are -inf): they are ignored like padding.
  targets = targets.masked_fill(targets.lt(3), 0).reshape({-1});
  auto scores = logits(forward(inputs));
  return F::cross_entropy(scores.reshape({-1, scores.size(-1)}), targets, F::CrossEntropyFuncOptions().ignore_index(0));
}

}  // namespace seqrec::model
