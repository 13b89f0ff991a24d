#include "seqrec/model/gpt2.h"

#include <limits>

#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::model {

namespace {
ModelConfig small_config() {
  ModelConfig c;
  c.num_items = 30;
  c.d_model = 16;
  c.num_heads = 2;
  c.num_layers = 2;
  c.max_length = 8;
  c.dropout = 0.0;
  return c;
}
}  // namespace

using Gpt2Test = test::TempDirTest;

TEST_F(Gpt2Test, ChangingALaterItemLeavesEarlierOutputsUnchanged) {
  Gpt2 model(small_config());
  model->eval();
  auto items = torch::tensor({{3, 7, 9, 12, 5, 20}}, torch::kLong);
  auto changed = items.clone();
  changed[0][4] = 25;
  auto a = model->forward(items);
  auto b = model->forward(changed);
  test::expect_tensor_near(a.slice(1, 0, 4), b.slice(1, 0, 4), 1e-6);
  EXPECT_GT((a[0][4] - b[0][4]).abs().max().item<double>(), 1e-4) << "position 4 must see its own input";
}

TEST_F(Gpt2Test, RightPaddingDoesNotChangeRealPositions) {
  Gpt2 model(small_config());
  model->eval();
  auto short_items = torch::tensor({{4, 8, 6}}, torch::kLong);
  auto padded = torch::tensor({{4, 8, 6, 0, 0}}, torch::kLong);
  test::expect_tensor_near(model->forward(short_items), model->forward(padded).slice(1, 0, 3), 1e-6);
}

TEST_F(Gpt2Test, OutputLayerIsTiedToTheItemEmbedding) {
  Gpt2 model(small_config());
  model->eval();
  auto hidden = torch::randn({2, 16});
  auto logits = model->logits(hidden);
  auto expected = hidden.matmul(model->item_embedding->weight.t());
  test::expect_tensor_near(logits.slice(1, 3), expected.slice(1, 3));
  EXPECT_TRUE(torch::isinf(logits.slice(1, 0, 3)).all().item<bool>()) << "padding, null and OOV are never scored";
  // Tied: no separate output matrix exists.
  for (const auto& p : model->named_parameters()) EXPECT_EQ(p.key().find("head"), std::string::npos) << p.key();
}

TEST_F(Gpt2Test, NextItemScoresReadTheLastRealPosition) {
  Gpt2 model(small_config());
  model->eval();
  auto items = torch::tensor({{3, 4, 5, 0}, {6, 7, 0, 0}}, torch::kLong);
  auto lengths = torch::tensor({3, 2}, torch::kLong);
  auto scores = model->next_item_scores(items, lengths);
  auto hidden = model->forward(items);
  test::expect_tensor_near(scores[0].slice(0, 3), model->logits(hidden[0][2]).slice(0, 3));
  test::expect_tensor_near(scores[1].slice(0, 3), model->logits(hidden[1][1]).slice(0, 3));
}

TEST_F(Gpt2Test, InvalidConfigListsEveryProblem) {
  ModelConfig c = small_config();
  c.d_model = 10;
  c.num_heads = 3;
  c.dropout = 1.5;
  try {
    Gpt2 model(c);
    FAIL();
  } catch (const InvalidInput& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("divisible by --heads"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--dropout must be in [0, 1)"), std::string::npos) << msg;
  }
}

TEST_F(Gpt2Test, TooLongInputIsRejected) {
  Gpt2 model(small_config());
  EXPECT_THROW(model->forward(torch::ones({1, 9}, torch::kLong)), InvalidInput);
}

}  // namespace seqrec::model
