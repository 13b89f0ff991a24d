#include "seqrec/model/causal_scoring.h"

#include <c10/core/GradMode.h>
#include <cblas.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "seqrec/common/error.h"
#include "seqrec/model/attention.h"

namespace seqrec::model {

namespace {

const float* values(const torch::Tensor& t) {
  SEQREC_ASSERT(t.is_contiguous() && t.scalar_type() == torch::kFloat);
  return t.data_ptr<float>();
}

/// y[n, D] = layer_norm(x[n, D]) with the module's weight, bias and eps.
void layer_norm(const float* x, float* y, int64_t n, int64_t D, const torch::nn::LayerNorm& norm) {
  const float* gain = values(norm->weight);
  const float* shift = values(norm->bias);
  const float eps = static_cast<float>(norm->options.eps());
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * D;
    float* yi = y + i * D;
    float mean = 0, var = 0;
    for (int64_t d = 0; d < D; ++d) mean += xi[d];
    mean /= static_cast<float>(D);
    for (int64_t d = 0; d < D; ++d) var += (xi[d] - mean) * (xi[d] - mean);
    const float rstd = 1.0f / std::sqrt(var / static_cast<float>(D) + eps);
    for (int64_t d = 0; d < D; ++d) yi[d] = (xi[d] - mean) * rstd * gain[d] + shift[d];
  }
}

/// y[n, out] = x[n, in] W^T + b, or y += that when `accumulate` (the residual).
void linear(const float* x, int64_t n, const torch::nn::Linear& layer, float* y, bool accumulate) {
  const int64_t out = layer->weight.size(0), in = layer->weight.size(1);
  const float* b = layer->bias.defined() ? values(layer->bias) : nullptr;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out; ++j) y[i * out + j] = (accumulate ? y[i * out + j] : 0.0f) + (b ? b[j] : 0.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(out), static_cast<int>(in), 1.0f,
              x, static_cast<int>(in), values(layer->weight), static_cast<int>(in), 1.0f, y, static_cast<int>(out));
}

struct Query {
  int64_t row, position;
};

/// context[q, D] for each query: softmax(q k^T / sqrt(Dh)) v per head over the row's keys 0..position that are
/// not padding (all-zero when there are none, as masked_softmax). qkv holds the rows' tokens back to back.
void causal_attention(const float* qkv, const std::vector<Query>& queries, const std::vector<int64_t>& offset,
                      const bool* padding, int64_t L, int64_t D, int64_t H, float* context) {
  const int64_t Dh = D / H;
  const float root = std::sqrt(static_cast<float>(Dh));
  std::vector<float> weight(L);
  for (size_t qi = 0; qi < queries.size(); ++qi) {
    const auto [b, t] = queries[qi];
    const float* row = qkv + offset[b] * 3 * D;
    const bool* pad = padding + b * L;
    for (int64_t h = 0; h < H; ++h) {
      const float* q = row + t * 3 * D + h * Dh;
      float* c = context + qi * D + h * Dh;
      std::fill(c, c + Dh, 0.0f);
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j <= t; ++j) {
        if (pad[j]) continue;
        const float* k = row + j * 3 * D + D + h * Dh;
        float s = 0;
        for (int64_t d = 0; d < Dh; ++d) s += q[d] * k[d];
        weight[j] = s / root;
        top = std::max(top, weight[j]);
      }
      if (top == -std::numeric_limits<float>::infinity()) continue;  // every key is padding
      float sum = 0;
      for (int64_t j = 0; j <= t; ++j) sum += pad[j] ? 0.0f : (weight[j] = std::exp(weight[j] - top));
      for (int64_t j = 0; j <= t; ++j) {
        if (pad[j]) continue;
        const float p = weight[j] / sum;
        const float* v = row + j * 3 * D + 2 * D + h * Dh;
        for (int64_t d = 0; d < Dh; ++d) c[d] += p * v[d];
      }
    }
  }
}

}  // namespace

bool causal_scoring_applies(const torch::Tensor& x) {
  return x.device().is_cpu() && x.scalar_type() == torch::kFloat && !c10::GradMode::is_enabled();
}

torch::Tensor causal_last_positions(const torch::nn::ModuleList& layers, const torch::nn::LayerNorm& final_norm,
                                    const torch::Tensor& x_in, const torch::Tensor& padding_in, const torch::Tensor& query_rows) {
  SEQREC_ASSERT(causal_scoring_applies(x_in));
  auto x = x_in.contiguous();
  auto padding = padding_in.to(torch::kBool).contiguous();
  auto rows = query_rows.to(torch::kLong).contiguous();
  const int64_t B = x.size(0), L = x.size(1), D = x.size(2);
  const int64_t* last = rows.data_ptr<int64_t>();

  // Each row's tokens 0..last[b], back to back.
  std::vector<int64_t> offset(B + 1, 0);
  std::vector<Query> every, final_positions;
  for (int64_t b = 0; b < B; ++b) {
    SEQREC_CHECK(last[b] >= 0 && last[b] < L, "query position ", last[b], " outside a sequence of ", L);
    offset[b + 1] = offset[b] + last[b] + 1;
    for (int64_t t = 0; t <= last[b]; ++t) every.push_back({b, t});
    final_positions.push_back({b, last[b]});
  }
  const int64_t N = offset[B];
  auto h = torch::empty({N, D}, x.options());
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(h.data_ptr<float>() + offset[b] * D, x.data_ptr<float>() + b * L * D, sizeof(float) * (last[b] + 1) * D);

  auto normed = torch::empty({N, D}, x.options()), qkv = torch::empty({N, 3 * D}, x.options());
  auto context = torch::empty({N, D}, x.options());
  auto gather_last = [&](const torch::Tensor& tokens) {
    auto out = torch::empty({B, D}, x.options());
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(out.data_ptr<float>() + b * D, tokens.data_ptr<float>() + (offset[b] + last[b]) * D, sizeof(float) * D);
    return out;
  };
  for (size_t i = 0; i < layers->size(); ++i) {
    const auto& layer = *layers->ptr(i)->as<TransformerLayer>();
    SEQREC_ASSERT(layer.pre_norm(), "causal_last_positions runs pre-LayerNorm layers");
    // Keys and values for every token; in the last layer, queries (and all that follows) for the final positions.
    const bool final_layer = i + 1 == layers->size();
    const auto& queries = final_layer ? final_positions : every;
    const int64_t Q = static_cast<int64_t>(queries.size());
    layer_norm(h.data_ptr<float>(), normed.data_ptr<float>(), N, D, layer.ln_1);
    linear(normed.data_ptr<float>(), N, layer.attention->qkv, qkv.data_ptr<float>(), false);
    causal_attention(qkv.data_ptr<float>(), queries, offset, padding.data_ptr<bool>(), L, D, layer.attention->num_heads(),
                     context.data_ptr<float>());
    auto residual = final_layer ? gather_last(h) : h;  // the queries' rows, in query order
    linear(context.data_ptr<float>(), Q, layer.attention->out, residual.data_ptr<float>(), true);
    layer_norm(residual.data_ptr<float>(), normed.data_ptr<float>(), Q, D, layer.ln_2);
    auto inner = torch::empty({Q, layer.mlp_in->weight.size(0)}, x.options());
    linear(normed.data_ptr<float>(), Q, layer.mlp_in, inner.data_ptr<float>(), false);
    inner = activate(inner, layer.relu()).contiguous();
    linear(inner.data_ptr<float>(), Q, layer.mlp_out, residual.data_ptr<float>(), true);
    h = residual;
  }
  if (h.size(0) != B) h = gather_last(h);  // no layers
  auto out = torch::empty({B, D}, x.options());
  layer_norm(h.data_ptr<float>(), out.data_ptr<float>(), B, D, final_norm);
  return out.view({B, 1, D});
}

}  // namespace seqrec::model
