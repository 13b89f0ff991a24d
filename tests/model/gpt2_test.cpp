#include "seqrec/model/gpt2.h"

#include "model/model_support.h"
#include "seqrec/model/sequence_model.h"
#include "support.h"

namespace seqrec::model {

using Gpt2Test = seqrec::test::TempDirTest;

TEST_F(Gpt2Test, OutputLayerIsTiedToTheItemEmbedding) {
  SequenceModelImpl model(test::tiny_config("gpt2"));
  model.eval();
  auto hidden = torch::randn({2, 16});
  auto logits = model.head->logits(hidden);
  auto expected = hidden.matmul(model.input->item_embedding->weight.t());
  seqrec::test::expect_tensor_near(logits.slice(1, 3), expected.slice(1, 3));
  EXPECT_TRUE(torch::isinf(logits.slice(1, 0, 3)).all().item<bool>()) << "padding, null and OOV are never scored";
  for (const auto& p : model.named_parameters()) EXPECT_EQ(p.key().find("head."), std::string::npos) << p.key();
}

TEST_F(Gpt2Test, NextItemScoresReadTheLastRealPosition) {
  SequenceModelImpl model(test::tiny_config("gpt2"));
  model.eval();
  auto items = torch::tensor({{3, 4, 5, 0}, {6, 7, 0, 0}}, torch::kLong);
  auto scores = model.next_item_scores(items, torch::tensor({3, 2}, torch::kLong));
  MaskedBatch batch;
  batch.inputs = items;
  batch.masked = torch::zeros_like(items, torch::kBool);
  auto hidden = model.encode(batch);
  seqrec::test::expect_tensor_near(scores[0].slice(0, 3), model.head->logits(hidden[0][2]).slice(0, 3));
  seqrec::test::expect_tensor_near(scores[1].slice(0, 3), model.head->logits(hidden[1][1]).slice(0, 3));
}

TEST_F(Gpt2Test, BodyIsCausalEvenWhenAskedOtherwise) {
  Gpt2BodyImpl body(test::tiny_config("gpt2").resolved());
  body.eval();
  BodyInput in;
  in.hidden = torch::randn({1, 4, 16});
  in.padding = torch::zeros({1, 4}, torch::kBool);
  in.causal = false;
  auto a = body.forward(in);
  in.hidden[0][3] += 1.0;
  seqrec::test::expect_tensor_near(a.slice(1, 0, 3), body.forward(in).slice(1, 0, 3), 1e-6);
}

}  // namespace seqrec::model
