#include "seqrec/metrics/evaluator.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <limits>

#include "seqrec/common/error.h"
#include "seqrec/metrics/ranking.h"

namespace seqrec::metrics {

namespace {
const float kInf = std::numeric_limits<float>::infinity();

schema::SessionTable table(const std::vector<std::vector<int64_t>>& sessions) {
  schema::SessionTable t;
  int64_t time = 0;
  for (size_t i = 0; i < sessions.size(); ++i) {
    std::vector<int64_t> ts;
    for (size_t j = 0; j < sessions[i].size(); ++j) ts.push_back(++time);
    t.append("s" + std::to_string(i), sessions[i], ts);
  }
  return t;
}

/// Every prefix gets the same scores: catalogue ids 3..8 scored by `fixed` (ids 0..2 at -inf).
Scorer fixed_scorer(std::vector<float> fixed) {
  return [fixed](const model::PrefixBatch& b) {
    std::vector<float> row{-kInf, -kInf, -kInf};
    row.insert(row.end(), fixed.begin(), fixed.end());
    return torch::tensor(row).unsqueeze(0).repeat({b.items.size(0), 1});
  };
}
}  // namespace

TEST(EvaluatorTest, ProtocolsListTheHandCountedPredictions) {
  auto t = table({{3, 4, 5}, {6}, {7, 8}});
  EvaluatorOptions o;
  auto last = list_predictions(t, o);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].row, 0);
  EXPECT_EQ(last[0].target, 2);
  EXPECT_EQ(last[1].row, 2);
  o.protocol = Protocol::kEveryPrefix;
  auto every = list_predictions(t, o);
  ASSERT_EQ(every.size(), 3u);  // (0,1) (0,2) (2,1); a one-item session predicts nothing
  EXPECT_EQ(every[0].target, 1);
  EXPECT_EQ(every[1].target, 2);
  EXPECT_EQ(every[2].row, 2);
  o.protocol = Protocol::kLeaveOneOut;
  o.holdout_offset = 1;  // valid: the second to last item, the last one hidden
  auto loo = list_predictions(t, o);
  ASSERT_EQ(loo.size(), 1u);  // only row 0 keeps >= 1 history item before its second to last
  EXPECT_EQ(loo[0].row, 0);
  EXPECT_EQ(loo[0].target, 1);
}

TEST(EvaluatorTest, PredictionBatchHoldsTheLastHistoryItemsAndTheTarget) {
  auto t = table({{3, 4, 5, 6}});
  auto b = make_prediction_batch(t, {{0, 3}, {0, 1}}, /*max_length=*/2, c10::Device(c10::kCPU));
  EXPECT_TRUE(torch::equal(b.items, torch::tensor({{4, 5}, {3, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(b.lengths, torch::tensor({2, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(b.targets, torch::tensor({6, 4}, torch::kLong)));
}

TEST(EvaluatorTest, EveryPrefixMetricsMatchHandComputedRanks) {
  // Scores rank the catalogue 8 > 7 > 6 > 5 > 4 > 3: item i has rank 9 - i.
  auto t = table({{3, 8, 6}});
  EvaluatorOptions o;
  o.ks = {2};
  o.protocol = Protocol::kEveryPrefix;
  auto r = Evaluator(o).evaluate(t, fixed_scorer({1, 2, 3, 4, 5, 6}), "fixed");
  EXPECT_EQ(r.predictions, 2);  // targets 8 (rank 1) and 6 (rank 3)
  EXPECT_DOUBLE_EQ(r.metrics["recall@2"], 0.5);
  EXPECT_DOUBLE_EQ(r.metrics["mrr@2"], 0.5);
  EXPECT_DOUBLE_EQ(r.metrics["map@2"], 0.5);
  EXPECT_DOUBLE_EQ(r.metrics["precision@2"], 0.25);
  EXPECT_DOUBLE_EQ(r.metrics["ndcg@2"], 0.5);
  EXPECT_DOUBLE_EQ(r.metrics["coverage@2"], 2.0 / 6.0);  // only 8 and 7 are ever recommended
  EXPECT_EQ(r.protocol, "every-prefix, full ranking");
}

TEST(EvaluatorTest, CoverageIsReportedAtEveryK) {
  // Every list is the same: 8 > 7 > 6 > 5 > 4 > 3, so coverage@k = k / 6 for each k.
  auto t = table({{3, 8, 6}, {4, 5}});
  EvaluatorOptions o;
  o.ks = {1, 3, 5};
  o.protocol = Protocol::kEveryPrefix;
  auto r = Evaluator(o).evaluate(t, fixed_scorer({1, 2, 3, 4, 5, 6}), "fixed");
  EXPECT_DOUBLE_EQ(r.metrics["coverage@1"], 1.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.metrics["coverage@3"], 3.0 / 6.0);
  EXPECT_DOUBLE_EQ(r.metrics["coverage@5"], 5.0 / 6.0);
}

TEST(EvaluatorTest, ExcludingSeenItemsRemovesTheHistoryButNeverTheTarget) {
  // History 8, 7 outrank target 6; excluded, 6 becomes rank 1. A repeated target stays rankable.
  auto t = table({{8, 7, 6}, {6, 8, 6}});
  EvaluatorOptions o;
  o.ks = {1, 3};
  auto plain = Evaluator(o).evaluate(t, fixed_scorer({1, 2, 3, 4, 5, 6}), "m");
  EXPECT_DOUBLE_EQ(plain.metrics["mrr@3"], (1.0 / 3 + 1.0 / 3) / 2);
  o.exclude_seen = true;
  auto excluded = Evaluator(o).evaluate(t, fixed_scorer({1, 2, 3, 4, 5, 6}), "m");
  EXPECT_DOUBLE_EQ(excluded.metrics["recall@1"], 0.5);  // row 0: rank 1; row 1: 7 still above 6 -> rank 2
  EXPECT_DOUBLE_EQ(excluded.metrics["mrr@3"], (1.0 + 0.5) / 2);
  EXPECT_NE(excluded.protocol.find("seen items excluded"), std::string::npos);
}

TEST(EvaluatorTest, SampledProtocolRanksAgainstUnseenNegativesAndSaysSampled) {
  auto t = table({{3, 4, 5}});  // target 5; negatives come from the unseen 6, 7, 8
  EvaluatorOptions o;
  o.ks = {1, 10};
  o.sampled_negatives = 2;
  // The target outscores every unseen item: rank 1 whatever is drawn.
  auto best = Evaluator(o).evaluate(t, fixed_scorer({9, 9, 5, 1, 1, 1}), "m");
  EXPECT_DOUBLE_EQ(best.metrics["recall@1"], 1.0);
  // Every unseen item outscores the target: rank 1 + 2 negatives = 3, although 3 and 4 (seen) score higher too.
  auto worst = Evaluator(o).evaluate(t, fixed_scorer({9, 9, 1, 5, 5, 5}), "m");
  EXPECT_DOUBLE_EQ(worst.metrics["mrr@10"], 1.0 / 3);
  EXPECT_TRUE(worst.sampled);
  EXPECT_EQ(worst.metrics.count("coverage@10"), 0u);
  EXPECT_NE(worst.protocol.find("2 sampled negatives (sampled"), std::string::npos) << worst.protocol;
  EXPECT_NE(format_results_table({worst}).find("SAMPLED"), std::string::npos);
}

TEST(EvaluatorTest, SampledRanksCountStrictlyHigherNegatives) {
  auto scores = torch::tensor({{-kInf, -kInf, -kInf, 0.5f, 0.9f, 0.5f, 0.1f}});
  auto ranks = sampled_target_ranks(scores, torch::tensor({3}, torch::kLong), torch::tensor({{4, 5, 6}}, torch::kLong), 3);
  EXPECT_EQ(ranks, std::vector<int64_t>{2});
}

TEST(EvaluatorTest, BadProtocolNamesAndOptionsAreRejected) {
  try {
    parse_protocol("all-items");
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("--protocol must be last-item, every-prefix or leave-one-out"), std::string::npos);
  }
  EvaluatorOptions o;
  o.sampled_negatives = -1;
  EXPECT_THROW(Evaluator{o}, InvalidInput);
  o.sampled_negatives = 10;  // more than the 6-item catalogue holds
  EXPECT_THROW(Evaluator(o).evaluate(table({{3, 4}}), fixed_scorer({1, 2, 3, 4, 5, 6}), "m"), InvalidInput);
}

TEST(EvaluatorTest, EmptyTableGivesZeroPredictions) {
  auto r = Evaluator(EvaluatorOptions{}).evaluate(schema::SessionTable{}, fixed_scorer({1, 2, 3, 4, 5, 6}), "m");
  EXPECT_EQ(r.predictions, 0);
  EXPECT_DOUBLE_EQ(r.metrics["ndcg@10"], 0.0);
}

}  // namespace seqrec::metrics
