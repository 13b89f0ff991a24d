// Numerics of attention against PyTorch references stored in tests/data/goldens/attention.json, produced by
// tests/goldens/attention_goldens.py (torch.nn.MultiheadAttention; XLNet/Transformer-XL relative attention
// with the pad-and-reshape relative shift).
#include <fstream>

#include "seqrec/model/attention.h"
#include "seqrec/model/relative_attention.h"
#include "support.h"

namespace seqrec::model {

namespace {

const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    std::ifstream in(std::string(SEQREC_TEST_DATA_DIR) + "/goldens/attention.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

/// A nested JSON list of numbers as a float tensor of its shape.
torch::Tensor tensor(const nlohmann::json& j) {
  std::vector<int64_t> shape;
  for (const nlohmann::json* p = &j; p->is_array(); p = &(*p)[0]) shape.push_back(static_cast<int64_t>(p->size()));
  std::vector<float> flat;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& x) {
    if (x.is_array())
      for (const auto& e : x) walk(e);
    else
      flat.push_back(x.is_boolean() ? static_cast<float>(x.get<bool>()) : x.get<float>());
  };
  walk(j);
  return torch::tensor(flat).view(shape);
}

void set(torch::Tensor& target, const torch::Tensor& value) {
  torch::NoGradGuard no_grad;
  target.copy_(value);
}

void set_relative_weights(RelativeAttention& attention, const nlohmann::json& w) {
  set(attention->q->weight, tensor(w["q"]));
  set(attention->k->weight, tensor(w["k"]));
  set(attention->v->weight, tensor(w["v"]));
  set(attention->r->weight, tensor(w["r"]));
  set(attention->o->weight, tensor(w["o"]));
  set(attention->r_w_bias, tensor(w["r_w_bias"]));
  set(attention->r_r_bias, tensor(w["r_r_bias"]));
}

/// The golden's MultiHeadAttention(8, 2) with its stored weights.
MultiHeadAttention golden_attention(const nlohmann::json& g) {
  MultiHeadAttention attention(8, 2, 0.0);
  set(attention->qkv->weight, tensor(g["qkv_weight"]));
  set(attention->qkv->bias, tensor(g["qkv_bias"]));
  set(attention->out->weight, tensor(g["out_weight"]));
  set(attention->out->bias, tensor(g["out_bias"]));
  return attention;
}

}  // namespace

using AttentionGoldenTest = seqrec::test::TempDirTest;

TEST_F(AttentionGoldenTest, MultiHeadAttentionMatchesTorchMultiheadAttention) {
  const auto& g = golden()["mha"];
  auto x = tensor(g["x"]);
  auto padding = tensor(g["padding"]).to(torch::kBool);
  auto attention = golden_attention(g);
  auto blocked = attention_block_mask(padding, x.size(1), /*causal=*/true);
  seqrec::test::expect_tensor_near(attention(x, blocked), tensor(g["output"]), 1e-5);
}

TEST_F(AttentionGoldenTest, FusedAttentionMatchesTheGoldenAndGivesFiniteGradientsOnBlockedRows) {
  // In double precision the CPU takes LibTorch's scaled_dot_product_attention (the GPU and bf16 path) instead of
  // seqrec's float kernels: the same golden must come out, padded queries (fully blocked rows) as zeros.
  const auto& g = golden()["mha"];
  auto x = tensor(g["x"]).to(torch::kDouble).requires_grad_(true);
  auto padding = tensor(g["padding"]).to(torch::kBool);
  auto attention = golden_attention(g);
  attention->to(torch::kDouble);
  auto blocked = attention_block_mask(padding, x.size(1), /*causal=*/true);
  auto out = attention(x, blocked);
  seqrec::test::expect_tensor_near(out.to(torch::kFloat), tensor(g["output"]), 1e-5);
  // Left padding under a causal mask leaves its queries nothing to attend: a row blocked everywhere.
  auto left_padded = torch::zeros({2, 4}, torch::kBool);
  left_padded[1][0] = true;
  left_padded[1][1] = true;
  auto h = torch::randn({2, 4, 8}, torch::kDouble).requires_grad_(true);
  auto context = attention(h, attention_block_mask(left_padded, 4, /*causal=*/true));
  EXPECT_TRUE(torch::isfinite(context).all().item<bool>());
  context.sum().backward();
  EXPECT_TRUE(torch::isfinite(h.grad()).all().item<bool>());
  // The same module in float (seqrec's kernels) agrees on every row.
  attention->to(torch::kFloat);
  auto reference = attention(h.detach().to(torch::kFloat), attention_block_mask(left_padded, 4, /*causal=*/true));
  seqrec::test::expect_tensor_near(context.detach().to(torch::kFloat), reference, 1e-5);
}

TEST_F(AttentionGoldenTest, SinusoidEmbeddingMatches) {
  const auto& g = golden()["sinusoid"];
  seqrec::test::expect_tensor_near(sinusoid_embedding(tensor(g["distances"]), 8), tensor(g["embedding"]), 1e-6);
}

TEST_F(AttentionGoldenTest, XlnetRelativeAttentionMatches) {
  const auto& g = golden()["xlnet"];
  auto h = tensor(g["h"]);
  auto padding = tensor(g["padding"]).to(torch::kBool);
  const int64_t L = h.size(1);
  RelativeAttention attention(8, 2, 0.0);
  set_relative_weights(attention, g["weights"]);
  auto r = sinusoid_embedding(torch::arange(L, -L, -1, torch::kFloat), 8);
  auto out = attention->attend(h, attention->keys(h, r), attention_block_mask(padding, L, /*causal=*/false), L);
  seqrec::test::expect_tensor_near(out, tensor(g["output"]), 1e-5);
}

TEST_F(AttentionGoldenTest, TransfoXlRelativeAttentionWithMemoryMatches) {
  const auto& g = golden()["transfo_xl"];
  auto memory = tensor(g["memory"]), h = tensor(g["h"]);
  const int64_t B = h.size(0), Lk = memory.size(1) + h.size(1);
  RelativeAttention attention(8, 2, 0.0);
  set_relative_weights(attention, g["weights"]);
  auto r = sinusoid_embedding(torch::arange(Lk - 1, -1, -1, torch::kFloat), 8);
  auto blocked = attention_block_mask(torch::zeros({B, Lk}, torch::kBool), h.size(1), /*causal=*/true);
  auto out = attention->attend(h, attention->keys(torch::cat({memory, h}, 1), r), blocked, Lk - 1);
  seqrec::test::expect_tensor_near(out, tensor(g["output"]), 1e-5);
}

TEST_F(AttentionGoldenTest, FullyBlockedRowsGetZeroWeightAndFiniteGradients) {
  auto scores = torch::randn({1, 1, 2, 3}, torch::requires_grad());
  auto blocked = torch::tensor({{{{true, true, true}, {false, true, false}}}});
  auto weights = masked_softmax(scores, blocked);
  EXPECT_TRUE(torch::equal(weights[0][0][0], torch::zeros({3})));
  EXPECT_NEAR(weights[0][0][1].sum().item<double>(), 1.0, 1e-6);
  EXPECT_EQ(weights[0][0][1][1].item<float>(), 0.0f);
  weights.sum().backward();
  EXPECT_TRUE(torch::isfinite(scores.grad()).all().item<bool>());
}

TEST_F(AttentionGoldenTest, RealRowsGiveTheGoldenAtEveryRealPositionAndZeroOnPadding) {
  const auto& g = golden()["xlnet"];
  auto h = tensor(g["h"]);
  auto padding = tensor(g["padding"]).to(torch::kBool);
  ASSERT_TRUE(padding.any().item<bool>()) << "the golden must hold padding for this test to mean anything";
  const int64_t L = h.size(1);
  RelativeAttention attention(8, 2, 0.0);
  set_relative_weights(attention, g["weights"]);
  auto r = sinusoid_embedding(torch::arange(L, -L, -1, torch::kFloat), 8);
  const auto real = RealRows::of(padding);
  const auto blocked = attention_block_mask(padding, L, /*causal=*/false);
  auto out = attention->attend(h, attention->keys(h, r, real), blocked, L, real);
  auto is_real = (~padding).unsqueeze(-1).expand_as(out);
  seqrec::test::expect_tensor_near(out.masked_select(is_real), tensor(g["output"]).masked_select(is_real), 1e-5);
  EXPECT_EQ(out.masked_select(~is_real).abs().max().item<float>(), 0.0f);
  // A whole layer too: the real rows as the dense layer computes them.
  RelativeLayer layer(TransformerLayerOptions(8, 2).inner_size(16).dropout(0.0));
  layer->eval();
  auto dense = layer->forward(h, {}, r, blocked, L);
  auto packed = layer->forward_real(h, r, blocked, L, real);
  seqrec::test::expect_tensor_near(packed.masked_select(is_real), dense.masked_select(is_real), 1e-5);
}

}  // namespace seqrec::model
