#include "seqrec/model/relative_attention.h"

#include <cmath>

#include "seqrec/model/attention.h"

namespace seqrec::model {

torch::Tensor sinusoid_embedding(const torch::Tensor& distances, int64_t d_model) {
  auto frequencies = 1.0 / torch::pow(10000.0, torch::arange(0, d_model, 2, distances.options()) / static_cast<double>(d_model));
  auto angles = distances.unsqueeze(1) * frequencies.unsqueeze(0);
  return torch::cat({angles.sin(), angles.cos()}, 1);
}

RelativeAttentionImpl::RelativeAttentionImpl(int64_t d_model, int64_t num_heads, double dropout) : num_heads_(num_heads) {
  auto linear = [&](const char* name) {
    return register_module(name, torch::nn::Linear(torch::nn::LinearOptions(d_model, d_model).bias(false)));
  };
  q = linear("q");
  k = linear("k");
  v = linear("v");
  r = linear("r");
  o = linear("o");
  r_w_bias = register_parameter("r_w_bias", torch::zeros({num_heads, d_model / num_heads}));
  r_r_bias = register_parameter("r_r_bias", torch::zeros({num_heads, d_model / num_heads}));
  attention_dropout = register_module("attention_dropout", FastDropout(dropout));
}

RealRows RealRows::of(const torch::Tensor& padding) {
  if (!padding.defined() || !padding.any().item<bool>()) return {};
  return {(~padding).reshape({-1}).nonzero().squeeze(1)};
}

RelativeAttentionImpl::Keys RelativeAttentionImpl::keys(const torch::Tensor& kv, const torch::Tensor& rel, const RealRows& real) {
  const int64_t B = kv.size(0), Lk = kv.size(1), D = kv.size(2), H = num_heads_, Dh = D / H;
  Keys out;
  out.k = real.apply(kv, [&](const torch::Tensor& x) { return k(x); }).view({B, Lk, H, Dh}).transpose(1, 2);
  out.v = real.apply(kv, [&](const torch::Tensor& x) { return v(x); }).view({B, Lk, H, Dh}).transpose(1, 2);
  out.kr = r(rel).view({rel.size(0), H, Dh}).transpose(0, 1);
  return out;
}

torch::Tensor RelativeAttentionImpl::attend(const torch::Tensor& x, const Keys& keys, const torch::Tensor& blocked,
                                            int64_t first_distance, const RealRows& real) {
  const int64_t B = x.size(0), Lq = x.size(1), D = x.size(2), H = num_heads_, Dh = D / H;
  const int64_t Lk = keys.k.size(2), R = keys.kr.size(1);
  auto queries = real.apply(x, [&](const torch::Tensor& t) { return q(t); }).view({B, Lq, H, Dh}).transpose(1, 2);  // [B, H, Lq, Dh]
  auto content = torch::matmul(queries + r_w_bias.view({1, H, 1, Dh}), keys.k.transpose(-2, -1));  // [B, H, Lq, Lk]
  auto by_distance = torch::matmul(queries + r_r_bias.view({1, H, 1, Dh}), keys.kr.transpose(-2, -1).unsqueeze(0));  // [B, H, Lq, R]
  // Row of r for (i, j): first_distance - ((Lk - Lq + i) - j). Out-of-range rows belong to keys the mask
  // blocks (future keys of a causal model), so clamping them is harmless.
  auto i = torch::arange(Lq, x.options().dtype(torch::kLong)).view({Lq, 1});
  auto j = torch::arange(Lk, x.options().dtype(torch::kLong)).view({1, Lk});
  auto row = (first_distance - (Lk - Lq + i - j)).clamp(0, R - 1);
  auto position = by_distance.gather(3, row.view({1, 1, Lq, Lk}).expand({B, H, Lq, Lk}));
  auto scores = (content + position) / std::sqrt(static_cast<double>(Dh));
  auto weights = attention_dropout(masked_softmax(scores, blocked));
  return real.apply(torch::matmul(weights, keys.v).transpose(1, 2).reshape({B, Lq, D}), [&](const torch::Tensor& t) { return o(t); });
}

RelativeLayerImpl::RelativeLayerImpl(const TransformerLayerOptions& o) : relu_(o.activation() == Activation::kRelu) {
  SEQREC_ASSERT(!o.pre_norm(), "RelativeLayer is post-LayerNorm (XLNet, Transformer-XL)");
  const int64_t d_model = o.d_model(), inner_size = o.resolved_inner_size();
  const double dropout_p = o.dropout();
  attention = register_module("attention", RelativeAttention(d_model, o.num_heads(), dropout_p));
  ln_attention = register_module("ln_attention", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  ffn_in = register_module("ffn_in", torch::nn::Linear(d_model, inner_size));
  ffn_out = register_module("ffn_out", torch::nn::Linear(inner_size, d_model));
  ln_ffn = register_module("ln_ffn", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  dropout = register_module("dropout", FastDropout(dropout_p));
}

torch::Tensor RelativeLayerImpl::finish(const torch::Tensor& x, const torch::Tensor& attended, const RealRows& real) {
  return real.apply(x, [&](const torch::Tensor&) {
    // The rows of x and attended that `real` selects (all of them without padding).
    auto xr = real.rows.defined() ? x.reshape({-1, x.size(-1)}).index_select(0, real.rows) : x;
    auto ar = real.rows.defined() ? attended.reshape({-1, x.size(-1)}).index_select(0, real.rows) : attended;
    auto h = ln_attention(xr + dropout(ar));
    return ln_ffn(h + dropout(ffn_out(dropout(activate(ffn_in(h), relu_)))));
  });
}

torch::Tensor RelativeLayerImpl::forward(const torch::Tensor& h, const torch::Tensor& memory, const torch::Tensor& r,
                                         const torch::Tensor& blocked, int64_t first_distance) {
  auto kv = memory.defined() && memory.size(1) > 0 ? torch::cat({memory, h}, 1) : h;
  return finish(h, attention->attend(h, attention->keys(kv, r), blocked, first_distance));
}

torch::Tensor RelativeLayerImpl::forward_real(const torch::Tensor& h, const torch::Tensor& r, const torch::Tensor& blocked,
                                              int64_t first_distance, const RealRows& real) {
  return finish(h, attention->attend(h, attention->keys(h, r, real), blocked, first_distance, real), real);
}

std::pair<torch::Tensor, torch::Tensor> RelativeLayerImpl::forward_two_stream(const torch::Tensor& h, const torch::Tensor& g,
                                                                              const torch::Tensor& r,
                                                                              const torch::Tensor& content_blocked,
                                                                              const torch::Tensor& query_blocked,
                                                                              int64_t first_distance) {
  auto keys = attention->keys(h, r);
  auto h_out = finish(h, attention->attend(h, keys, content_blocked, first_distance));
  auto g_out = finish(g, attention->attend(g, keys, query_blocked, first_distance));
  return {h_out, g_out};
}

}  // namespace seqrec::model
