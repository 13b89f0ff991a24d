// head.repeat_bonus: an inference-time logit bonus for the items already in the session.
#include "model/model_support.h"
#include "seqrec/common/error.h"
#include "seqrec/model/sequence_model.h"
#include "support.h"

namespace seqrec::model {

namespace {
ModelConfig repeat_config(double bonus) {
  auto c = test::tiny_config("gpt2");
  c.head.normalize = true;
  c.head.temperature = 0.5;
  c.head.repeat_bonus = bonus;
  return c;
}
}  // namespace

TEST(RepeatBonusTest, ScoresAddTheBonusOncePerHistoryItemAndTopKAgrees) {
  auto model = std::make_shared<SequenceModelImpl>(repeat_config(20.0));
  model->eval();
  torch::NoGradGuard no_grad;
  // Row 0 saw 5 twice and 7 once; row 1 saw 9 (1 is the null id, never scored).
  auto items = torch::tensor({5, 7, 5, 0, 9, 1, 0, 0}, torch::kLong).view({2, 4});
  auto lengths = torch::tensor({3, 2}, torch::kLong);
  auto expected = model->head->logits(model->next_item_hidden(items, lengths));
  expected[0][5] += 20.0f;
  expected[0][7] += 20.0f;
  expected[1][9] += 20.0f;
  auto scores = model->next_item_scores(items, lengths);
  seqrec::test::expect_tensor_near(scores.slice(1, 3), expected.slice(1, 3), 1e-4);
  EXPECT_TRUE(torch::isinf(scores.slice(1, 0, 3)).all().item<bool>());
  // Serving's top-k (packed items, then the history with its bonus) ranks as the full scores, up to the catalogue.
  for (int64_t k : {1, 3, 20}) {
    auto [values, ids] = model->next_item_top_k(items, lengths, k);
    auto [expected_values, expected_ids] = scores.topk(k, 1);
    EXPECT_TRUE(torch::equal(ids, expected_ids)) << "k=" << k << "\n" << ids << "\n" << expected_ids;
    seqrec::test::expect_tensor_near(values, expected_values, 1e-4);
  }
  EXPECT_EQ(model->next_item_top_k(items, lengths, 1).second[1][0].item<int64_t>(), 9);
}

TEST(RepeatBonusTest, TrainingIgnoresTheBonus) {
  torch::manual_seed(3);
  auto plain = std::make_shared<SequenceModelImpl>(repeat_config(0.0));
  torch::manual_seed(3);
  auto boosted = std::make_shared<SequenceModelImpl>(repeat_config(4.0));
  auto [sessions, lengths] = test::planted_sessions(16, 9, 1);
  EXPECT_NEAR(plain->training_loss(sessions).item<double>(), boosted->training_loss(sessions).item<double>(), 1e-6);
  torch::NoGradGuard no_grad;
  auto history = sessions.slice(1, 0, 8).contiguous();
  auto l = lengths.clamp_max(8);
  EXPECT_FALSE(torch::allclose(plain->next_item_scores(history, l).slice(1, 3), boosted->next_item_scores(history, l).slice(1, 3)));
}

TEST(RepeatBonusTest, NeedsACausalModel) {
  auto c = test::tiny_config("bert", "mlm");
  c.head.repeat_bonus = 1.0;
  EXPECT_THROW(SequenceModelImpl{c}, InvalidInput);
}

}  // namespace seqrec::model
