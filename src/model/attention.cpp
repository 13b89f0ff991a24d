#include "seqrec/model/attention.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/init.h>
#include <ATen/ops/scaled_dot_product_attention.h>

#include <cmath>
#include <limits>

#include "seqrec/model/batched_matmul.h"
#include "seqrec/model/packed_attention.h"

namespace seqrec::model {

namespace F = torch::nn::functional;

torch::Tensor masked_softmax(const torch::Tensor& scores, const torch::Tensor& blocked) {
  auto full = blocked.expand(scores.sizes());
  // A fully blocked row is unblocked for the softmax (finite values and gradients), then zeroed.
  auto dead = full.all(-1, /*keepdim=*/true);
  auto weights = torch::softmax(scores.masked_fill(full & ~dead, -std::numeric_limits<float>::infinity()), -1);
  return weights.masked_fill(dead, 0.0);
}

torch::Tensor attention_block_mask(const torch::Tensor& key_padding, int64_t num_queries, bool causal,
                                   const torch::Tensor& extra) {
  const int64_t B = key_padding.size(0), Lk = key_padding.size(1);
  auto blocked = key_padding.view({B, 1, 1, Lk}).expand({B, 1, num_queries, Lk});
  if (causal) {
    // With a memory of Lk - Lq earlier keys, query i sits at key position (Lk - Lq) + i.
    auto future = torch::ones({num_queries, Lk}, key_padding.options()).triu(1 + Lk - num_queries);
    blocked = blocked | future.view({1, 1, num_queries, Lk});
  }
  if (extra.defined()) blocked = blocked | extra.view({B, 1, num_queries, Lk});
  return blocked;
}

torch::Tensor MultiHeadAttentionImpl::fused_attention(const torch::Tensor& queries, const torch::Tensor& keys,
                                                      const torch::Tensor& values, const torch::Tensor& blocked) {
  // LibTorch's fused kernels (flash / memory-efficient on a GPU). A fully blocked row (a padded query) takes
  // part in everything for the softmax and is zeroed after, as masked_softmax does, so no NaN reaches a gradient.
  auto full = blocked.expand({queries.size(0), 1, queries.size(2), keys.size(2)});
  auto dead = full.all(-1, /*keepdim=*/true);
  auto allowed = full.logical_not() | dead;
  const double p = attention_dropout->is_training() ? attention_dropout->p() : 0.0;
  auto context = at::scaled_dot_product_attention(queries, keys, values, allowed, p);
  return context.masked_fill(dead, 0.0);
}

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t d_model, int64_t num_heads, double dropout) : num_heads_(num_heads) {
  qkv = register_module("qkv", torch::nn::Linear(d_model, 3 * d_model));
  out = register_module("out", torch::nn::Linear(d_model, d_model));
  attention_dropout = register_module("attention_dropout", FastDropout(dropout));
  residual_dropout = register_module("residual_dropout", FastDropout(dropout));
}

TokenPacking TokenPacking::of(const torch::Tensor& padding) {
  TokenPacking p;
  p.batch = padding.size(0);
  p.length = padding.size(1);
  auto real = padding.logical_not();
  p.index = real.reshape({-1}).nonzero().squeeze(1);
  p.offsets = torch::cat({torch::zeros({1}, p.index.options()), real.sum(1).cumsum(0)});
  return p;
}

bool TokenPacking::worthwhile() const { return index.size(0) * 10 <= batch * length * 9; }

torch::Tensor TokenPacking::pack(const torch::Tensor& x) const {
  return x.reshape({batch * length, x.size(-1)}).index_select(0, index);
}

torch::Tensor TokenPacking::unpack(const torch::Tensor& rows) const {
  const int64_t C = rows.size(1);
  return torch::zeros({batch * length, C}, rows.options()).index_copy(0, index, rows).view({batch, length, C});
}

torch::Tensor MultiHeadAttentionImpl::attend(const torch::Tensor& projected, const torch::Tensor& blocked,
                                             const torch::Tensor& query_rows) {
  const int64_t B = projected.size(0), L = projected.size(1), D = projected.size(2) / 3, H = num_heads_, Dh = D / H;
  auto heads = projected.view({B, L, 3, H, Dh}).permute({2, 0, 3, 1, 4});  // [3, B, H, L, Dh]
  auto queries = heads[0];
  auto mask = blocked;
  if (query_rows.defined()) {
    queries = queries.gather(2, query_rows.view({B, 1, 1, 1}).expand({B, H, 1, Dh}));
    mask = blocked.expand({B, 1, L, L}).gather(2, query_rows.view({B, 1, 1, 1}).expand({B, 1, 1, L}));
  }
  const int64_t Lq = queries.size(2);
  if (!(projected.device().is_cpu() && projected.scalar_type() == at::kFloat) || !cpu_attention_kernels_enabled())
    return fused_attention(queries, heads[1], heads[2], mask).transpose(1, 2).reshape({B, Lq, D});
  auto scores = batched_matmul(queries, heads[1], /*transpose_b=*/true) / std::sqrt(static_cast<double>(Dh));
  auto weights = attention_dropout(masked_softmax(scores, mask));
  return batched_matmul(weights, heads[2]).transpose(1, 2).reshape({B, Lq, D});
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& blocked,
                                              const torch::Tensor& query_rows) {
  return residual_dropout(out(attend(qkv(x), blocked, query_rows)));
}

torch::Tensor MultiHeadAttentionImpl::forward_packed(const torch::Tensor& rows, const torch::Tensor& blocked,
                                                     const TokenPacking& packing) {
  // The projection decides: under bf16 autocast it comes out in bf16, which seqrec's float kernels do not take.
  auto projected = qkv(rows);
  if (packing.plain_attention && packed_attention_applies(projected)) {
    auto context = packed_attention(projected, packing.offsets, num_heads_, packing.causal, attention_dropout->p(),
                                    attention_dropout->is_training());
    return residual_dropout(out(context));
  }
  auto context = attend(packing.unpack(projected), blocked, {});
  return residual_dropout(out(packing.pack(context)));
}

torch::Tensor activate(const torch::Tensor& x, bool relu) { return relu ? torch::relu(x) : F::gelu(x); }

TransformerLayerOptions TransformerLayerOptions::from(const ModelConfig& config) {
  return TransformerLayerOptions(config.d_model, config.num_heads)
      .inner_size(config.inner_size())
      .dropout(config.dropout)
      .activation(config.body.activation);
}

TransformerLayerImpl::TransformerLayerImpl(const TransformerLayerOptions& o)
    : pre_norm_(o.pre_norm()), relu_(o.activation() == Activation::kRelu) {
  const int64_t d_model = o.d_model(), inner_size = o.resolved_inner_size();
  ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  attention = register_module("attention", MultiHeadAttention(d_model, o.num_heads(), o.dropout()));
  ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  mlp_in = register_module("mlp_in", torch::nn::Linear(d_model, inner_size));
  mlp_out = register_module("mlp_out", torch::nn::Linear(inner_size, d_model));
  mlp_dropout = register_module("mlp_dropout", FastDropout(o.dropout()));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& blocked,
                                            const torch::Tensor& query_rows) {
  if (query_rows.defined()) {
    // Attention reads every position; its residual, the MLP and the norms only the query rows.
    auto rows = x.gather(1, query_rows.view({-1, 1, 1}).expand({x.size(0), 1, x.size(2)}));
    if (pre_norm_) {
      auto h = rows + attention(ln_1(x), blocked, query_rows);
      return h + mlp(ln_2(h));
    }
    auto h = ln_1(rows + attention(x, blocked, query_rows));
    return ln_2(h + mlp(h));
  }
  if (pre_norm_) {
    auto h = x + attention(ln_1(x), blocked);
    return h + mlp(ln_2(h));
  }
  auto h = ln_1(x + attention(x, blocked));
  return ln_2(h + mlp(h));
}

torch::Tensor TransformerLayerImpl::forward_packed(const torch::Tensor& rows, const torch::Tensor& blocked,
                                                   const TokenPacking& packing) {
  if (pre_norm_) {
    auto h = rows + attention->forward_packed(ln_1(rows), blocked, packing);
    return h + mlp(ln_2(h));
  }
  auto h = ln_1(rows + attention->forward_packed(rows, blocked, packing));
  return ln_2(h + mlp(h));
}

torch::Tensor TransformerLayerImpl::mlp(const torch::Tensor& x) {
  return mlp_dropout(mlp_out(activate(mlp_in(x), relu_)));
}

void init_transformer_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    const auto& key = p.key();
    if (key.find("ln") != std::string::npos || key.find("norm") != std::string::npos) continue;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, "bias") == 0)
      p.value().zero_();
    else
      torch::nn::init::normal_(p.value(), 0.0, 0.02);
  }
}

}  // namespace seqrec::model
