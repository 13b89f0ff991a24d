#include "seqrec/metrics/ranking.h"

#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <limits>

#include "seqrec/common/error.h"
#include "seqrec/metrics/evaluator.h"

namespace seqrec::metrics {

namespace {
const float kInf = std::numeric_limits<float>::infinity();
}

TEST(RankingTest, MetricsOfOneRankMatchTheDefinitions) {
  EXPECT_DOUBLE_EQ(recall_at(1, 10), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at(1, 10), 1.0);
  EXPECT_DOUBLE_EQ(mrr_at(1, 10), 1.0);
  EXPECT_DOUBLE_EQ(ndcg_at(3, 10), 0.5);  // 1 / log2(4)
  EXPECT_DOUBLE_EQ(mrr_at(4, 10), 0.25);
  EXPECT_DOUBLE_EQ(precision_at(4, 10), 0.1);
  EXPECT_DOUBLE_EQ(ndcg_at(10, 10), 1.0 / std::log2(11.0));
}

TEST(RankingTest, RankBeyondKScoresZero) {
  EXPECT_DOUBLE_EQ(recall_at(11, 10), 0.0);
  EXPECT_DOUBLE_EQ(ndcg_at(11, 10), 0.0);
  EXPECT_DOUBLE_EQ(mrr_at(21, 20), 0.0);
  EXPECT_DOUBLE_EQ(recall_at(kMissRank, 1000000), 0.0);
}

TEST(RankingTest, TargetRankCountsOnlyStrictlyHigherScores) {
  // ids 0..2 reserved (-inf); catalogue ids 3..7.
  auto scores = torch::tensor({{-kInf, -kInf, -kInf, 0.5f, 0.9f, 0.5f, 0.1f, 0.7f},
                               {-kInf, -kInf, -kInf, 0.5f, 0.9f, 0.5f, 0.1f, 0.7f},
                               {-kInf, -kInf, -kInf, 0.5f, 0.9f, 0.5f, 0.1f, 0.7f},
                               {-kInf, -kInf, -kInf, 0.5f, 0.9f, 0.5f, 0.1f, 0.7f}});
  auto targets = torch::tensor({4, 3, 5, 6}, torch::kLong);
  auto ranks = target_ranks(scores, targets, 3);
  EXPECT_EQ(ranks, (std::vector<int64_t>{1, 3, 3, 5}));  // ties share the better rank
}

TEST(RankingTest, ReservedTargetsAreMisses) {
  auto scores = torch::tensor({{-kInf, -kInf, -kInf, 0.5f}, {-kInf, -kInf, -kInf, 0.5f}});
  auto ranks = target_ranks(scores, torch::tensor({2, 1}, torch::kLong), 3);
  EXPECT_EQ(ranks[0], kMissRank);
  EXPECT_EQ(ranks[1], kMissRank);
}

TEST(RankingTest, MeterAveragesHandComputedValues) {
  RankingMeter meter({2, 10});
  meter.add(std::vector<int64_t>{1, 3, 20, kMissRank});
  auto r = meter.results();
  EXPECT_DOUBLE_EQ(r["recall@2"], 0.25);
  EXPECT_DOUBLE_EQ(r["recall@10"], 0.5);
  EXPECT_DOUBLE_EQ(r["ndcg@10"], (1.0 + 0.5) / 4);
  EXPECT_DOUBLE_EQ(r["mrr@10"], (1.0 + 1.0 / 3) / 4);
  EXPECT_DOUBLE_EQ(r["mrr@2"], 0.25);
  EXPECT_EQ(meter.count(), 4);
}

TEST(RankingTest, KLargerThanCatalogueCountsEveryValidTargetAsHit) {
  auto scores = torch::tensor({{-kInf, -kInf, -kInf, 0.1f, 0.2f, 0.3f}});
  RankingMeter meter({100});
  meter.add(target_ranks(scores, torch::tensor({3}, torch::kLong), 3));  // last of 3 items
  EXPECT_DOUBLE_EQ(meter.results()["recall@100"], 1.0);
  EXPECT_DOUBLE_EQ(meter.results()["ndcg@100"], 0.5);
}

TEST(RankingTest, NonPositiveKIsRejected) {
  EXPECT_THROW(RankingMeter({0}), InvalidInput);
  EvaluatorOptions options;
  options.ks = {10, -1};
  try {
    Evaluator e(options);
    FAIL() << "expected InvalidInput";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("--k values must be > 0"), std::string::npos) << e.what();
  }
}

}  // namespace seqrec::metrics
