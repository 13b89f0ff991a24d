#include "seqrec/model/head.h"

#include <torch/nn/functional/loss.h>

#include <cmath>

#include "model/model_support.h"
#include "support.h"

namespace seqrec::model {

namespace {
ModelConfig head_config() {
  auto c = test::tiny_config("gpt2");
  c.num_items = 8;
  return c.resolved();
}
torch::nn::Embedding embedding(int64_t n, int64_t dim) { return torch::nn::Embedding(n, dim); }
}  // namespace

using HeadTest = seqrec::test::TempDirTest;

TEST_F(HeadTest, TiedLogitsProjectWhenSizesDifferThenDivideByTemperature) {
  auto c = head_config();
  c.head.temperature = 0.5;
  c.head.output_bias = true;
  auto items = embedding(8, 4);
  NextItemHead head(c, items);
  ASSERT_TRUE(head->projection);
  {
    torch::NoGradGuard no_grad;
    head->bias.copy_(torch::arange(8, torch::kFloat));
  }
  auto hidden = torch::randn({3, 16});
  auto expected = (head->projection(hidden).matmul(items->weight.t()) + torch::arange(8, torch::kFloat)) / 0.5;
  auto logits = head->logits(hidden);
  seqrec::test::expect_tensor_near(logits.slice(1, 3), expected.slice(1, 3));
  EXPECT_TRUE(torch::isinf(logits.slice(1, 0, 3)).all().item<bool>());
  // No output matrix of its own.
  for (const auto& p : head->named_parameters()) EXPECT_EQ(p.key().find("output"), std::string::npos) << p.key();
}

TEST_F(HeadTest, UntiedHeadHasItsOwnOutputLayer) {
  auto c = head_config();
  c.head.weight_tying = false;
  NextItemHead head(c, embedding(8, 16));
  ASSERT_TRUE(head->output);
  auto hidden = torch::randn({2, 16});
  seqrec::test::expect_tensor_near(head->logits(hidden).slice(1, 3), head->output(hidden).slice(1, 3));
}

TEST_F(HeadTest, NormalizedHeadScoresCosineOverTemperatureEverywhere) {
  auto c = head_config();
  c.head.normalize = true;
  c.head.temperature = 0.1;
  for (bool tied : {true, false}) {
    c.head.weight_tying = tied;
    auto items = embedding(8, 16);
    NextItemHead head(c, items);
    const auto weight = tied ? items->weight : head->output->weight;
    auto hidden = torch::randn({3, 16}) * 5;
    auto cosine = torch::matmul(hidden / hidden.norm(2, 1, true), (weight / weight.norm(2, 1, true)).t());
    seqrec::test::expect_tensor_near(head->logits(hidden).slice(1, 3), (cosine / 0.1).slice(1, 3), 1e-4);
    // Sampled candidates and the serving top-k score the same way.
    auto candidates = torch::tensor({3, 5, 7}, torch::kLong);
    seqrec::test::expect_tensor_near(head->candidate_logits(hidden, candidates), cosine.index_select(1, candidates) / 0.1, 1e-4);
    torch::NoGradGuard no_grad;
    auto [values, ids] = head->top_k(hidden, 2);
    auto [expected_values, expected_ids] = head->logits(hidden).topk(2, 1);
    EXPECT_TRUE(torch::equal(ids, expected_ids)) << (tied ? "tied" : "untied");
    seqrec::test::expect_tensor_near(values, expected_values, 1e-4);
  }
}

TEST_F(HeadTest, LabelSmoothingMatchesItsDefinition) {
  auto c = head_config();
  c.head.label_smoothing = 0.2;
  NextItemHead head(c, embedding(8, 16));
  auto hidden = torch::randn({4, 16});
  auto targets = torch::tensor({3, 5, 7, 4}, torch::kLong);
  // Smoothing spreads 0.2 over the 5 scorable items (reserved ids have -inf logits and zero probability).
  auto log_p = torch::log_softmax(head->logits(hidden).slice(1, 3), 1);
  auto one_hot = torch::one_hot(targets - 3, 5).to(torch::kFloat);
  auto smooth = one_hot * 0.8 + 0.2 / 5.0;
  const double expected = -(smooth * log_p).sum(1).mean().item<double>();
  EXPECT_NEAR(head->loss(hidden, targets).item<double>(), expected, 1e-4);
}

TEST_F(HeadTest, SampledSoftmaxCorrectsByLogQAndMasksAccidentalHits) {
  auto c = head_config();
  c.head.sampled_softmax = true;
  NextItemHead head(c, embedding(8, 16));
  auto hidden = torch::randn({2, 16});
  auto targets = torch::tensor({3, 6}, torch::kLong);
  auto negatives = torch::tensor({6, 4}, torch::kLong);  // 6 is the second row's target: an accidental hit
  auto log_q = torch::tensor({-1.0f, -2.0f});
  auto target_log_q = torch::tensor({0.5f, -3.0f});
  auto full = head->logits(hidden);
  // By hand: every logit minus its logQ, the positive's too; the accidental hit left out.
  auto row0 = torch::stack({full[0][3] - 0.5f, full[0][6] + 1.0f, full[0][4] + 2.0f});
  auto row1 = torch::stack({full[1][6] + 3.0f, full[1][4] + 2.0f});
  const double expected = 0.5 * (-torch::log_softmax(row0, 0)[0].item<double>() - torch::log_softmax(row1, 0)[0].item<double>());
  EXPECT_NEAR(head->sampled_softmax_loss(hidden, targets, negatives, log_q, target_log_q).item<double>(), expected, 1e-5);
  // The sampler's logQ of a positive: log(S * log((k + 2) / (k + 1)) / log(R + 1)), k = id - first, R = items - first.
  const double by_hand = std::log(2048.0 * std::log(5.0 / 4.0) / std::log(98.0));
  EXPECT_NEAR(log_uniform_log_q(torch::tensor({6}, torch::kLong), 100, 3, 2048).item<double>(), by_hand, 1e-5);
}

TEST_F(HeadTest, InBatchNegativesUseTheBatchTargets) {
  auto c = head_config();
  c.head.sampled_softmax = true;
  c.head.in_batch_negatives = true;
  NextItemHead head(c, embedding(8, 16));
  auto hidden = torch::randn({3, 16});
  auto targets = torch::tensor({3, 3, 5}, torch::kLong);
  auto full = head->logits(hidden);
  // Candidates: the target, then the batch's other distinct items, each logit less logQ = log(share of the batch).
  const double q3 = std::log(2.0 / 3.0), q5 = std::log(1.0 / 3.0);
  double expected = 0;
  for (int r = 0; r < 3; ++r) {
    const int64_t t = targets[r].item<int64_t>();
    std::vector<torch::Tensor> row{full[r][t] - (t == 3 ? q3 : q5)};
    if (t != 3) row.push_back(full[r][3] - q3);
    if (t != 5) row.push_back(full[r][5] - q5);
    expected += -torch::log_softmax(torch::stack(row), 0)[0].item<double>() / 3.0;
  }
  EXPECT_NEAR(head->loss(hidden, targets).item<double>(), expected, 1e-5);
}

TEST_F(HeadTest, LogUniformSamplerFollowsZipf) {
  auto [ids, log_q] = sample_log_uniform(/*num_items=*/103, /*first_item_id=*/3, /*num_samples=*/20000, torch::kCPU);
  EXPECT_TRUE(ids.ge(3).all().item<bool>());
  EXPECT_TRUE(ids.lt(103).all().item<bool>());
  const double p3 = std::log(2.0) / std::log(101.0);
  EXPECT_NEAR(ids.eq(3).to(torch::kDouble).mean().item<double>(), p3, 0.01);
  auto first = ids.eq(3).nonzero()[0][0].item<int64_t>();
  EXPECT_NEAR(log_q[first].item<double>(), std::log(20000 * p3), 1e-4);
}

TEST_F(HeadTest, BceLossIgnoresNegativesThatAreTheTarget) {
  auto c = head_config();
  c.num_items = 4;  // a single real item: every sampled negative is an accidental hit
  c.head.loss = HeadLoss::kBce;
  c.head.num_negatives = 5;
  NextItemHead head(c, embedding(4, 16));
  auto hidden = torch::randn({2, 16});
  auto targets = torch::tensor({3, 3}, torch::kLong);
  auto positive = head->logits(hidden).select(1, 3);
  EXPECT_NEAR(head->loss(hidden, targets).item<double>(), torch::softplus(-positive).mean().item<double>(), 1e-5);
}

TEST_F(HeadTest, SummariesAndSessionTasks) {
  auto hidden = torch::arange(12, torch::kFloat).view({2, 3, 2});
  auto padding = torch::tensor({{false, false, true}, {false, false, false}});
  EXPECT_TRUE(torch::equal(summarize(hidden, padding, SessionSummary::kLast), torch::tensor({{2.0f, 3.0f}, {10.0f, 11.0f}})));
  EXPECT_TRUE(torch::equal(summarize(hidden, padding, SessionSummary::kFirst), torch::tensor({{0.0f, 1.0f}, {6.0f, 7.0f}})));
  EXPECT_TRUE(torch::allclose(summarize(hidden, padding, SessionSummary::kMean), torch::tensor({{1.0f, 2.0f}, {8.0f, 9.0f}})));
  TaskConfig task;
  task.type = TaskType::kBinary;
  SessionTaskHead head(task, 2);
  auto targets = torch::tensor({1.0f, 0.0f});
  auto logits = head->forward(hidden, padding);
  EXPECT_NEAR(head->loss(hidden, padding, targets).item<double>(),
              torch::nn::functional::binary_cross_entropy_with_logits(logits, targets).item<double>(), 1e-6);
}

}  // namespace seqrec::model
