#include "seqrec/model/packed_attention.h"

#include <torch/autograd.h>

#include <cmath>
#include <vector>

#include "seqrec/common/random.h"
#include "seqrec/model/attention.h"
#include "support.h"

namespace seqrec::model {

using PackedAttentionTest = test::TempDirTest;

namespace {
constexpr int64_t kHeads = 2, kWidth = 8;

/// Sessions of these lengths (one empty) as packed qkv rows with their offsets, and the same as a right-padded
/// [B, L, 3D] batch with its padding.
struct Packed {
  at::Tensor qkv, offsets, padding, index;
  int64_t batch, length;
};
Packed make_packed(const std::vector<int64_t>& lengths) {
  Packed p;
  p.batch = static_cast<int64_t>(lengths.size());
  p.length = 0;
  for (int64_t n : lengths) p.length = std::max(p.length, n);
  p.padding = torch::ones({p.batch, p.length}, torch::kBool);
  for (int64_t b = 0; b < p.batch; ++b) p.padding[b].slice(0, 0, lengths[b]).fill_(false);
  auto packing = TokenPacking::of(p.padding);
  p.offsets = packing.offsets;
  p.index = packing.index;
  p.qkv = torch::randn({packing.index.size(0), 3 * kWidth}, torch::requires_grad());
  return p;
}

/// The same attention through LibTorch ops on the unpacked batch: masked softmax over [B, H, L, L].
at::Tensor reference(const Packed& p, bool causal) {
  const int64_t B = p.batch, L = p.length, Dh = kWidth / kHeads;
  auto projected = torch::zeros({B * L, 3 * kWidth}).index_copy(0, p.index, p.qkv).view({B, L, 3, kHeads, Dh});
  auto heads = projected.permute({2, 0, 3, 1, 4});
  auto scores = torch::matmul(heads[0], heads[1].transpose(-2, -1)) / std::sqrt(static_cast<double>(Dh));
  auto weights = masked_softmax(scores, attention_block_mask(p.padding, L, causal));
  auto context = torch::matmul(weights, heads[2]).transpose(1, 2).reshape({B * L, kWidth});
  return context.index_select(0, p.index);
}
}  // namespace

TEST_F(PackedAttentionTest, MatchesTheMaskedSoftmaxOnThePaddedBatchWithGradients) {
  auto p = make_packed({5, 1, 0, 7, 3});
  for (bool causal : {true, false}) {
    SCOPED_TRACE(causal ? "causal" : "bidirectional");
    auto ours = packed_attention(p.qkv, p.offsets, kHeads, causal, /*dropout=*/0.3, /*training=*/false);
    auto expected = reference(p, causal);
    test::expect_tensor_near(ours, expected, 1e-5);
    auto g = torch::randn_like(expected);
    auto got_grad = torch::autograd::grad({ours}, {p.qkv}, {g})[0];
    auto expected_grad = torch::autograd::grad({expected}, {p.qkv}, {g})[0];
    test::expect_tensor_near(got_grad, expected_grad, 1e-5);
  }
}

TEST_F(PackedAttentionTest, DropoutGradientMatchesFiniteDifferencesOfTheSameMask) {
  auto p = make_packed({6, 4, 9});
  auto direction = torch::randn({p.qkv.size(0), kWidth});
  // The same step generator seed gives the same dropout mask on every call.
  auto objective = [&](const at::Tensor& qkv) {
    StepGeneratorScope generator(99);
    return (packed_attention(qkv, p.offsets, kHeads, /*causal=*/true, 0.4, /*training=*/true) * direction).sum();
  };
  auto value = objective(p.qkv);
  auto grad = torch::autograd::grad({value}, {p.qkv})[0];
  {
    StepGeneratorScope generator(99);
    auto dropped = packed_attention(p.qkv, p.offsets, kHeads, true, 0.4, true);
    EXPECT_FALSE(torch::allclose(dropped, packed_attention(p.qkv, p.offsets, kHeads, true, 0.0, true)))
        << "dropout must change the context";
  }
  torch::NoGradGuard no_grad;
  const double eps = 1e-2;
  for (int64_t k : {int64_t{0}, int64_t{5}, int64_t{17}, int64_t{40}, int64_t{100}, p.qkv.numel() - 1}) {
    auto plus = p.qkv.detach().clone(), minus = p.qkv.detach().clone();
    plus.view(-1)[k] += eps;
    minus.view(-1)[k] -= eps;
    const double numeric = (objective(plus).item<double>() - objective(minus).item<double>()) / (2 * eps);
    EXPECT_NEAR(grad.view(-1)[k].item<double>(), numeric, 2e-2 * std::max(1.0, std::abs(numeric))) << "element " << k;
  }
}

TEST_F(PackedAttentionTest, MultiHeadAttentionTakesThePackedPathOnlyForAPlainMask) {
  MultiHeadAttention attention(kWidth, kHeads, 0.0);
  attention->eval();
  auto p = make_packed({4, 2, 6});
  auto rows = torch::randn({p.index.size(0), kWidth});
  auto packing = TokenPacking::of(p.padding);
  auto blocked = attention_block_mask(p.padding, p.length, /*causal=*/true);
  auto unpacked = attention->forward_packed(rows, blocked, packing);
  packing.plain_attention = true;
  packing.causal = true;
  test::expect_tensor_near(attention->forward_packed(rows, blocked, packing), unpacked, 1e-5);
}

}  // namespace seqrec::model
