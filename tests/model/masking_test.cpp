#include "seqrec/model/masking.h"

#include "model/model_support.h"
#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::model {

using MaskingTest = seqrec::test::TempDirTest;

TEST_F(MaskingTest, ClmShiftsTargetsByOne) {
  auto m = mask_clm(torch::tensor({{3, 4, 5, 0}}, torch::kLong));
  EXPECT_TRUE(torch::equal(m.inputs, torch::tensor({{3, 4, 5}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(m.targets, torch::tensor({{4, 5, 0}}, torch::kLong)));
  EXPECT_FALSE(m.masked.any().item<bool>());
}

TEST_F(MaskingTest, MlmMasksAtLeastOneAndKeepsAtLeastOnePerSession) {
  auto [items, lengths] = test::planted_sessions(500, 8, 5);
  for (double p : {0.01, 0.5, 0.99}) {
    auto m = mask_mlm(items, p);
    auto masked_count = m.masked.sum(1);
    EXPECT_TRUE(masked_count.ge(1).all().item<bool>()) << p;
    EXPECT_TRUE(masked_count.lt(lengths).all().item<bool>()) << p;
    EXPECT_FALSE((m.masked & items.eq(0)).any().item<bool>()) << "padding is never masked";
    EXPECT_TRUE(torch::equal(m.targets, items.masked_fill(~m.masked, 0)));
  }
  auto m = mask_mlm(items, 0.3);
  const double rate = m.masked.sum().item<double>() / items.gt(0).sum().item<double>();
  EXPECT_NEAR(rate, 0.3, 0.05);
  // A one-item session has its item masked.
  EXPECT_TRUE(mask_mlm(torch::tensor({{5, 0, 0}}, torch::kLong), 0.01).masked[0][0].item<bool>());
}

TEST_F(MaskingTest, PlmPermutationMaskAndTargetMappingAreConsistent) {
  auto [items, lengths] = test::planted_sessions(200, 12, 8);
  auto m = mask_plm(items, 1.0 / 3.0, 3);
  const int64_t B = items.size(0), L = items.size(1), P = m.target_mapping.size(1);
  auto masked = m.masked;
  EXPECT_TRUE(masked.sum(1).ge(1).all().item<bool>());
  EXPECT_TRUE(masked.sum(1).lt(lengths).all().item<bool>());
  EXPECT_FALSE((masked & items.eq(0)).any().item<bool>());
  auto perm = m.perm_mask;
  // Only masked keys are ever hidden.
  EXPECT_FALSE((perm & ~masked.unsqueeze(1)).any().item<bool>());
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> targets;
    for (int64_t i = 0; i < L; ++i) {
      const bool mi = masked[b][i].item<bool>();
      if (mi) targets.push_back(i);
      // A context item sees no target; a target cannot see itself in the query stream.
      if (!mi) {
        EXPECT_EQ(perm[b][i].sum().item<int64_t>(), masked[b].sum().item<int64_t>());
      } else {
        EXPECT_TRUE(perm[b][i][i].item<bool>());
      }
      for (int64_t j = 0; j < L; ++j) {
        if (mi && masked[b][j].item<bool>() && i != j) {  // a strict order: exactly one of the two sees the other
          EXPECT_NE(perm[b][i][j].item<bool>(), perm[b][j][i].item<bool>());
        }
      }
    }
    // Row p of the mapping is one-hot at the p-th target; the rest are empty.
    for (int64_t p = 0; p < P; ++p) {
      auto row = m.target_mapping[b][p];
      if (p < static_cast<int64_t>(targets.size())) {
        EXPECT_EQ(row.sum().item<float>(), 1.0f);
        EXPECT_EQ(row[targets[p]].item<float>(), 1.0f);
        EXPECT_EQ(m.mapped_targets[b][p].item<int64_t>(), items[b][targets[p]].item<int64_t>());
      } else {
        EXPECT_EQ(row.sum().item<float>(), 0.0f);
        EXPECT_EQ(m.mapped_targets[b][p].item<int64_t>(), 0);
      }
    }
  }
  // The order is acyclic: in every session some target (the first in the order) sees no other target.
  auto visible_targets = (~perm & masked.unsqueeze(1)).sum(2);  // per query, masked keys it may see
  EXPECT_TRUE(std::get<0>(visible_targets.masked_fill(~masked, 1000).min(1)).eq(0).all().item<bool>());
}

TEST_F(MaskingTest, PlmSpansAreAboutTheConfiguredShare) {
  auto items = std::get<0>(test::planted_sessions(400, 30, 2)).fill_(5);
  const double share = mask_plm(items, 0.25, 4).masked.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(share, 0.25, 0.06);
}

TEST_F(MaskingTest, InferenceAppendsAMaskAfterTheLastItem) {
  auto items = torch::tensor({{3, 4, 0}, {5, 6, 7}}, torch::kLong);
  auto m = mask_last_for_inference(items, torch::tensor({2, 3}), /*permutation=*/true);
  EXPECT_EQ(m.inputs.size(1), 4);
  EXPECT_TRUE(torch::equal(m.masked, torch::tensor({{false, false, true, false}, {false, false, false, true}})));
  EXPECT_TRUE(torch::equal(m.padding(), torch::tensor({{false, false, false, true}, {false, false, false, false}})));
  // Nobody sees the appended position; everyone sees the rest.
  EXPECT_TRUE(torch::equal(m.perm_mask[0], m.masked[0].view({1, 4}).expand({4, 4})));
  EXPECT_TRUE(torch::equal(m.target_mapping, m.masked.to(torch::kFloat).view({2, 1, 4})));
}

TEST_F(MaskingTest, RtdLabelsMarkReplacedItemsOnly) {
  auto items = torch::tensor({{3, 4, 5, 0}}, torch::kLong);
  auto masked = torch::tensor({{true, false, true, false}});
  // Position 0 is replaced by another item, position 2 by itself (labelled original, as in ELECTRA).
  auto replacements = torch::tensor({{9, 9, 5, 9}}, torch::kLong);
  auto r = make_rtd_batch(items, masked, replacements);
  EXPECT_TRUE(torch::equal(r.corrupted, torch::tensor({{9, 4, 5, 0}}, torch::kLong)));
  EXPECT_TRUE(torch::equal(r.labels, torch::tensor({{1.0f, 0.0f, 0.0f, 0.0f}})));
  EXPECT_TRUE(torch::equal(r.weights, torch::tensor({{1.0f, 1.0f, 1.0f, 0.0f}})));
  auto pool = sample_replacements_from_batch(items, 3);
  EXPECT_TRUE((pool.eq(3) | pool.eq(4) | pool.eq(5)).all().item<bool>());
  // With hashed-OOV buckets 2..3 the first item id is 4: id 3 is never a replacement.
  auto without_buckets = sample_replacements_from_batch(items, 4);
  EXPECT_TRUE((without_buckets.eq(4) | without_buckets.eq(5)).all().item<bool>());
}

TEST_F(MaskingTest, UnknownSchemeIsRejected) {
  EXPECT_EQ(parse_masking_scheme("plm"), MaskingScheme::kPlm);
  EXPECT_THROW(parse_masking_scheme("causal"), InvalidInput);
}

}  // namespace seqrec::model
