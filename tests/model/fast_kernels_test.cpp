#include <torch/autograd.h>

#include "seqrec/model/batched_matmul.h"
#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/packed_items.h"
#include "support.h"

namespace seqrec::model {

using FastKernelsTest = test::TempDirTest;

namespace {
/// `ours` equals `reference`, and so do their gradients with respect to a and b for a random upstream gradient.
void expect_same_values_and_gradients(const at::Tensor& ours, const at::Tensor& reference, const at::Tensor& a,
                                      const at::Tensor& b) {
  test::expect_tensor_near(ours, reference, 1e-4);
  auto g = torch::randn_like(reference);
  auto grads = torch::autograd::grad({ours}, {a, b}, {g});
  auto expected = torch::autograd::grad({reference}, {a, b}, {g});
  test::expect_tensor_near(grads[0], expected[0], 1e-4);
  test::expect_tensor_near(grads[1], expected[1], 1e-4);
}
}  // namespace

TEST_F(FastKernelsTest, BatchedMatmulMatchesMatmulWithGradients) {
  // Small matrices take the vectorised kernel; 70x70x70 takes BLAS.
  for (int64_t n : {5, 70}) {
    for (bool transpose_b : {false, true}) {
      auto a = torch::randn({3, 2, n, n + 1}, torch::requires_grad());
      auto b = transpose_b ? torch::randn({3, 2, n + 2, n + 1}, torch::requires_grad())
                           : torch::randn({3, 2, n + 1, n + 2}, torch::requires_grad());
      expect_same_values_and_gradients(batched_matmul(a, b, transpose_b),
                                       torch::matmul(a, transpose_b ? b.transpose(-2, -1) : b), a, b);
    }
  }
}

TEST_F(FastKernelsTest, TopKInnerProductMatchesFullScoresAndTopk) {
  torch::manual_seed(7);
  // 2,500 items: two full item blocks and a partial one; rows 1 and 2 take the matrix-vector path.
  auto vectors = torch::randn({2500, 16});
  auto bias = torch::randn({2500});
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    for (int64_t rows : {1, 2, 3, 5, 70}) {
      auto query = torch::randn({rows, 16});
      for (const auto& b : {torch::Tensor(), bias}) {
        for (float temperature : {1.0f, 0.5f}) {
          auto full = torch::matmul(query, vectors.t());
          if (b.defined()) full = full + b;
          full = (full / temperature).slice(1, 3);
          auto [expected_values, expected_ids] = full.topk(20, 1);
          auto [values, ids] = top_k_inner_product(query, vectors, b, temperature, 20, /*first=*/3);
          ASSERT_EQ(values.sizes(), expected_values.sizes());
          test::expect_tensor_near(values, expected_values, 1e-4);
          EXPECT_TRUE(torch::equal(ids, expected_ids + 3)) << rows << " rows, " << threads << " threads";
        }
      }
    }
  }
  at::set_num_threads(1);
  // An odd vector size takes the one-row kernel's tail step.
  auto odd = torch::randn({40, 5});
  for (int64_t rows : {1, 3}) {
    auto query = torch::randn({rows, 5});
    auto [expected_values, expected_ids] = torch::matmul(query, odd.t()).slice(1, 3).topk(7, 1);
    auto [values, ids] = top_k_inner_product(query, odd, torch::Tensor(), 1.0f, 7, 3);
    test::expect_tensor_near(values, expected_values, 1e-5);
    EXPECT_TRUE(torch::equal(ids, expected_ids + 3));
  }
  // k beyond the catalogue gives every scorable item once; ties go to the lower id.
  auto [all_values, all_ids] = top_k_inner_product(torch::ones({1, 2}), torch::ones({6, 2}), torch::Tensor(), 1.0f, 10, 3);
  ASSERT_EQ(all_ids.size(1), 3);
  EXPECT_TRUE(torch::equal(all_ids, torch::tensor({{3, 4, 5}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(all_values, torch::full({1, 3}, 2.0f)));
}

TEST_F(FastKernelsTest, TopKInHalfPrecisionStillRanksByTheFloatScores) {
  at::set_num_threads(1);
  // Items 1e-6 apart: all round to the same half (1.0), so only the float re-scoring can order them.
  auto close = 1.0f + torch::arange(200, torch::kFloat).unsqueeze(1).expand({200, 4}) * 1e-6f;
  PackedItems packed(close, torch::Tensor(), /*first=*/3);
  EXPECT_EQ(packed.half_precision(), __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") &&
                                         __builtin_cpu_supports("fma"));
  auto [values, ids] = packed.top_k(torch::ones({2, 4}), 1.0f, 5);
  EXPECT_TRUE(torch::equal(ids, torch::tensor({199, 198, 197, 196, 195}, torch::kLong).repeat({2, 1})));
  auto [expected_values, expected_ids] = torch::matmul(torch::ones({1, 4}), close.t()).topk(5, 1);
  EXPECT_TRUE(torch::equal(values[0], expected_values[0]));

  // Values beyond the largest half keep the float layout and give the same answer.
  auto large = torch::randn({300, 8}) * 1e5f;
  PackedItems wide(large, torch::Tensor(), 3);
  EXPECT_FALSE(wide.half_precision());
  auto query = torch::randn({3, 8});
  auto [wide_values, wide_ids] = wide.top_k(query, 1.0f, 10);
  EXPECT_TRUE(torch::equal(wide_ids, std::get<1>(torch::matmul(query, large.t()).slice(1, 3).topk(10, 1)) + 3));

  // An infinite query has no error bound: every item is scored in float, +inf first, ties to the lower id.
  auto mixed = torch::randn({100, 2});
  auto [inf_values, inf_ids] = PackedItems(mixed, torch::Tensor(), 3).top_k(torch::tensor({{INFINITY, 1.0f}}), 1.0f, 4);
  auto positive = mixed.select(1, 0).slice(0, 3).gt(0).nonzero().view(-1).slice(0, 0, 4) + 3;
  EXPECT_TRUE(torch::equal(inf_ids[0], positive));
  EXPECT_TRUE(torch::all(torch::isinf(inf_values)).item<bool>());
}

TEST_F(FastKernelsTest, BatchedMatmulAcceptsNonContiguousViews) {
  auto x = torch::randn({4, 6, 3 * 8});
  auto heads = x.view({4, 6, 3, 2, 4}).permute({2, 0, 3, 1, 4});  // q, k, v as attention slices them
  test::expect_tensor_near(batched_matmul(heads[0], heads[1], true), torch::matmul(heads[0], heads[1].transpose(-2, -1)), 1e-5);
}

TEST_F(FastKernelsTest, DropoutKeepsAboutOneMinusPAndScalesThem) {
  auto x = torch::ones({200, 500});
  auto y = fast_dropout(x, 0.3, /*training=*/true);
  const double kept = y.ne(0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(kept, 0.7, 0.01);
  auto nonzero = y.masked_select(y.ne(0));
  EXPECT_NEAR(nonzero.min().item<float>(), 1.0 / 0.7, 1e-5);
  EXPECT_NEAR(nonzero.max().item<float>(), 1.0 / 0.7, 1e-5);
  test::expect_tensor_near(fast_dropout(x, 0.3, /*training=*/false), x, 0);
}

TEST_F(FastKernelsTest, DropoutRepeatsForASeedAndDiffersBetweenCalls) {
  auto x = torch::ones({64, 64});
  torch::manual_seed(7);
  auto a = fast_dropout(x, 0.5, true);
  auto b = fast_dropout(x, 0.5, true);
  torch::manual_seed(7);
  auto c = fast_dropout(x, 0.5, true);
  test::expect_tensor_near(a, c, 0);
  EXPECT_FALSE(torch::equal(a, b));
}

TEST_F(FastKernelsTest, DropoutGradientIsTheSameMask) {
  auto x = torch::randn({32, 16}, torch::requires_grad());
  auto y = fast_dropout(x, 0.4, true);
  auto g = torch::autograd::grad({y.sum()}, {x})[0];
  // d(x * mask)/dx = mask = y / x wherever x != 0.
  test::expect_tensor_near(g * x.detach(), y.detach(), 1e-5);
}

}  // namespace seqrec::model
