#include <gtest/gtest.h>
#include <cmath>
#include <torch/types.h>

#include "seqrec/common/error.h"
#include "seqrec/model/baseline.h"
#include "seqrec/model/markov.h"
#include "seqrec/model/popularity.h"
#include "seqrec/model/session_knn.h"

namespace seqrec::model {

namespace {
/// s0 = 3 4 5, s1 = 3 4 6, s2 = 4 5 (s2 the most recent); counts: 3:2, 4:3, 5:2, 6:1, 7:0.
schema::SessionTable fixture() {
  schema::SessionTable t;
  t.append("s0", {3, 4, 5}, {10, 11, 12});
  t.append("s1", {3, 4, 6}, {20, 21, 22});
  t.append("s2", {4, 5}, {30, 31});
  return t;
}
constexpr int64_t kItems = 8;  // ids 3..7

PrefixBatch prefix(std::vector<int64_t> items) {
  const int64_t n = static_cast<int64_t>(items.size());
  return {torch::tensor(items, torch::kLong).unsqueeze(0), torch::tensor({n}, torch::kLong), torch::tensor({0}, torch::kLong)};
}

std::vector<int64_t> ranking(const at::Tensor& scores) {
  auto order = std::get<1>(scores[0].sort(/*dim=*/0, /*descending=*/true));
  std::vector<int64_t> out;
  for (int64_t i = 0; i < order.size(0); ++i)
    if (order[i].item<int64_t>() >= 3) out.push_back(order[i].item<int64_t>());
  return out;
}
}  // namespace

TEST(BaselinesTest, PopularityRanksByTrainingCounts) {
  Popularity pop(fixture(), kItems, 3, c10::Device(c10::kCPU));
  auto s = pop.scores(prefix({5}));
  EXPECT_EQ(ranking(s)[0], 4);
  EXPECT_FLOAT_EQ(s[0][4].item<float>(), 3.0f);
  EXPECT_FLOAT_EQ(s[0][6].item<float>(), 1.0f);
  EXPECT_TRUE(std::isinf(s[0][1].item<float>()));
}

TEST(BaselinesTest, MarkovFollowsTheLastItemThenPopularity) {
  Markov markov(fixture(), kItems, 3, c10::Device(c10::kCPU));
  ASSERT_EQ(markov.successors(4).size(), 2u);  // 4->5 twice, 4->6 once
  EXPECT_EQ(markov.successors(4)[0], (std::pair<int64_t, float>{5, 2.0f}));
  EXPECT_EQ(markov.successors(4)[1], (std::pair<int64_t, float>{6, 1.0f}));
  // After ... 4: 5 (2 transitions), 6 (1), then by popularity 4 (3 clicks), 3 (2), 7 (0).
  EXPECT_EQ(ranking(markov.scores(prefix({3, 4}))), (std::vector<int64_t>{5, 6, 4, 3, 7}));
  // 7 was never followed: popularity order, 4 > {3, 5} > 6 > 7, with 3 and 5 tied.
  auto s = markov.scores(prefix({7}));
  EXPECT_FLOAT_EQ(s[0][3].item<float>(), s[0][5].item<float>());
  EXPECT_GT(s[0][4].item<float>(), s[0][3].item<float>());
  EXPECT_GT(s[0][6].item<float>(), s[0][7].item<float>());
}

TEST(BaselinesTest, SessionKnnVotesWithPositionWeightedSimilarity) {
  SessionKnn knn(fixture(), kItems, 3, c10::Device(c10::kCPU));
  // Prefix 3 4: weights 3 -> 1/2, 4 -> 1. Similarities: s0 = s1 = 1.5, s2 = 1.
  const int64_t items[] = {3, 4};
  auto s = knn.session_scores(items, 2);
  EXPECT_FLOAT_EQ(s[3], 3.0f);  // s0 + s1
  EXPECT_FLOAT_EQ(s[4], 4.0f);  // s0 + s1 + s2
  EXPECT_FLOAT_EQ(s[5], 2.5f);  // s0 + s2
  EXPECT_FLOAT_EQ(s[6], 1.5f);  // s1
  EXPECT_FLOAT_EQ(s[7], 0.0f);
  EXPECT_EQ(ranking(knn.scores(prefix({3, 4}))), (std::vector<int64_t>{4, 3, 5, 6, 7}));
  // One neighbour: s0 and s1 tie at 1.5, the more recent s1 wins.
  SessionKnn one(fixture(), kItems, 3, c10::Device(c10::kCPU), SessionKnnOptions{1, 500});
  auto t = one.session_scores(items, 2);
  EXPECT_FLOAT_EQ(t[6], 1.5f);
  EXPECT_FLOAT_EQ(t[5], 0.0f);
}

TEST(BaselinesTest, SessionKnnWithStanWeightsAndIdf) {
  const int64_t items[] = {3, 4};
  const float e = std::exp(-1.0f);
  // STAN weights, lambdas 1: prefix 4 -> 1, 3 (one click back) -> e^-1; similarities s0 = s1 = 1 + e^-1 = a,
  // s2 = 1. Every neighbour matches at its 4; items one position away vote e^-1 of the similarity.
  SessionKnnOptions stan;
  stan.prefix_decay = 1;
  stan.neighbor_decay = 1;
  auto s = SessionKnn(fixture(), kItems, 3, c10::Device(c10::kCPU), stan).session_scores(items, 2);
  const float a = 1 + e;
  EXPECT_FLOAT_EQ(s[3], 2 * a * e);
  EXPECT_FLOAT_EQ(s[4], 2 * a + 1);
  EXPECT_FLOAT_EQ(s[5], a * e + e);
  EXPECT_FLOAT_EQ(s[6], a * e);
  EXPECT_FLOAT_EQ(s[7], 0.0f);
  // idf alone: V-SkNN's votes 3, 4, 2.5, 1.5 times log(3 sessions / sessions holding the item).
  SessionKnnOptions idf;
  idf.idf = 1;
  auto t = SessionKnn(fixture(), kItems, 3, c10::Device(c10::kCPU), idf).session_scores(items, 2);
  EXPECT_FLOAT_EQ(t[3], 3.0f * std::log(1.5f));
  EXPECT_FLOAT_EQ(t[4], 0.0f);  // in every session
  EXPECT_FLOAT_EQ(t[5], 2.5f * std::log(1.5f));
  EXPECT_FLOAT_EQ(t[6], 1.5f * std::log(3.0f));
  // A repeated item votes by its nearest occurrence to the match: 5 3 6 7 5 matches prefix 3 at position 1.
  schema::SessionTable repeats;
  repeats.append("r", {5, 3, 6, 7, 5}, {1, 2, 3, 4, 5});
  SessionKnnOptions inh;
  inh.neighbor_decay = 1;
  const int64_t three[] = {3};
  auto u = SessionKnn(repeats, kItems, 3, c10::Device(c10::kCPU), inh).session_scores(three, 1);
  EXPECT_FLOAT_EQ(u[3], 1.0f);
  EXPECT_FLOAT_EQ(u[5], e);
  EXPECT_FLOAT_EQ(u[6], e);
  EXPECT_FLOAT_EQ(u[7], e * e);
  SessionKnnOptions negative;
  negative.prefix_decay = -1;
  EXPECT_THROW(SessionKnn(fixture(), kItems, 3, c10::Device(c10::kCPU), negative), InvalidInput);
}

TEST(BaselinesTest, HybridMixesTheModelsSoftmaxWithTheKnnVote) {
  SessionKnn knn(fixture(), kItems, 3, c10::Device(c10::kCPU));
  // Prefix 3 4 votes 3: 3, 4: 4, 5: 2.5, 6: 1.5 (sum 11); prefix 7 shares no item with a past session.
  auto items = torch::tensor({3, 4, 7, 0}, torch::kLong).view({2, 2});
  PrefixBatch batch{items, torch::tensor({2, 1}, torch::kLong), torch::tensor({0, 0}, torch::kLong)};
  auto vote = knn.distribution(batch);
  EXPECT_FLOAT_EQ(vote[0][4].item<float>(), 4.0f / 11.0f);
  EXPECT_FLOAT_EQ(vote[0].sum().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(vote[1].sum().item<float>(), 0.0f);
  const float inf = std::numeric_limits<float>::infinity();
  auto scores = torch::tensor({-inf, -inf, -inf, 0.f, 0.f, 0.f, 0.f, std::log(6.0f)}).repeat({2, 1});  // softmax: 7 -> 0.6
  auto mixed = mix_with_knn(scores, vote, 0.25);
  EXPECT_NEAR(mixed[0][7].item<float>(), 0.75 * 0.6, 1e-6);
  EXPECT_NEAR(mixed[0][4].item<float>(), 0.75 * 0.1 + 0.25 * 4.0 / 11.0, 1e-6);
  EXPECT_NEAR(mixed[1][4].item<float>(), 0.75 * 0.1, 1e-6);  // no neighbours: the model alone, scaled
  EXPECT_TRUE(torch::isinf(mixed.slice(1, 0, 3)).all().item<bool>());
  EXPECT_THROW(mix_with_knn(scores, vote, 1.5), InvalidInput);
}

TEST(BaselinesTest, FactoryKnowsTheBaselinesAndRejectsOthers) {
  auto m = make_baseline("markov", fixture(), kItems, 3, c10::Device(c10::kCPU));
  EXPECT_EQ(m->name(), "markov");
  try {
    make_baseline("item2vec", fixture(), kItems, 3, c10::Device(c10::kCPU));
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("unknown baseline 'item2vec'; known: popularity, markov, sknn"), std::string::npos);
  }
}

}  // namespace seqrec::model
