#include "seqrec/model/sequence_model.h"

#include <torch/optim/adam.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "model/model_support.h"
#include "seqrec/common/error.h"
#include "support.h"

namespace seqrec::model {

namespace {

using test::planted_sessions;
using test::tiny_config;

std::shared_ptr<SequenceModelImpl> build(const ModelConfig& c) { return std::make_shared<SequenceModelImpl>(c); }

/// Hidden states of sessions under clm (the causal path every causal body takes in training and scoring).
torch::Tensor causal_hidden(SequenceModelImpl& model, const torch::Tensor& items) {
  MaskedBatch batch;
  batch.inputs = items;
  batch.masked = torch::zeros_like(items, torch::kBool);
  return model.encode(batch);
}

struct Case {
  std::string architecture, masking;
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.architecture + "_" + info.param.masking; }

}  // namespace

// --- every body x valid masking learns the planted successor pattern ------------------------------------------------

class PlantedPatternTest : public seqrec::test::TempDirTest, public ::testing::WithParamInterface<Case> {};

TEST_P(PlantedPatternTest, LearnsTheSuccessorOfTheLastItem) {
  auto c = tiny_config(GetParam().architecture, GetParam().masking);
  c.num_layers = 1;
  // More targets per step for the masked objectives, and an rtd loss that does not drown the item loss in a
  // model this small; the pattern itself is the same for every body.
  c.masking.mlm_probability = 0.3;
  c.masking.plm_probability = 0.5;
  c.masking.max_span_length = 2;
  c.masking.rtd_discriminator_weight = 1.0;
  auto model = build(c);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  auto [train, train_lengths] = planted_sessions(256, model->training_sequence_length(), 11);
  model->train();
  // A masked objective gets ~mlm_probability of the targets clm gets per session: more passes for the same signal.
  // (rtd runs three encoders per step, so it gets fewer passes.)
  const int epochs = GetParam().masking == "clm" ? 12 : GetParam().masking == "rtd" ? 20 : 40;
  for (int epoch = 0; epoch < epochs; ++epoch)
    for (int64_t start = 0; start < train.size(0); start += 32) {
      auto loss = model->training_loss(train.slice(0, start, start + 32));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }
  model->eval();
  torch::NoGradGuard no_grad;
  auto [test, lengths] = planted_sessions(200, c.max_length + 1, 99);
  // The prefix without its last item; that item is the target.
  auto prefix = test.slice(1, 0, c.max_length).clone();
  auto prefix_lengths = lengths - 1;
  prefix.scatter_(1, prefix_lengths.clamp_max(c.max_length - 1).view({-1, 1}), 0);
  auto targets = test.gather(1, prefix_lengths.view({-1, 1})).squeeze(1);
  auto top = model->next_item_scores(prefix, prefix_lengths).argmax(1);
  const double hit_rate = top.eq(targets).to(torch::kDouble).mean().item<double>();
  // Random guessing scores 0.05. A masked objective sees the exact evaluation situation (a [MASK] after the last
  // item, nothing to its right) only when the last item happens to be masked, so it is slower to get there.
  EXPECT_GT(hit_rate, GetParam().masking == "clm" ? 0.6 : 0.25);
}

INSTANTIATE_TEST_SUITE_P(Bodies, PlantedPatternTest,
                         ::testing::Values(Case{"gpt2", "clm"}, Case{"sasrec", "clm"}, Case{"bert", "mlm"}, Case{"bert", "clm"},
                                           Case{"albert", "mlm"}, Case{"albert", "clm"}, Case{"electra", "rtd"},
                                           Case{"electra", "mlm"}, Case{"electra", "clm"}, Case{"xlnet", "plm"},
                                           Case{"xlnet", "mlm"}, Case{"xlnet", "clm"}, Case{"transfo_xl", "clm"},
                                           Case{"gru", "clm"}, Case{"lstm", "clm"}),
                         case_name);

// --- every body x masking reads side features: a next item only a hint feature reveals ----------------------------------

namespace {
/// Sessions of 3..length items whose every event carries a random hint 1..20, and the item after it is 3 + hint - 1:
/// the items alone say nothing of what comes next. {items, hints, lengths}, right-padded with 0.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> hinted_sessions(int64_t count, int64_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto items = torch::zeros({count, length}, torch::kLong), hints = torch::zeros({count, length}, torch::kLong);
  auto lengths = torch::zeros({count}, torch::kLong);
  for (int64_t b = 0; b < count; ++b) {
    const int64_t n = 3 + static_cast<int64_t>(rng() % (length - 2));
    int64_t item = 3 + static_cast<int64_t>(rng() % 20);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t hint = 1 + static_cast<int64_t>(rng() % 20);
      items[b][t] = item;
      hints[b][t] = hint;
      item = 3 + hint - 1;
    }
    lengths[b] = n;
  }
  return {items, hints, lengths};
}
}  // namespace

class SideFeaturePatternTest : public seqrec::test::TempDirTest, public ::testing::WithParamInterface<Case> {};

TEST_P(SideFeaturePatternTest, LearnsTheNextItemFromTheLastHint) {
  auto c = tiny_config(GetParam().architecture, GetParam().masking);
  c.num_layers = 1;
  c.masking.mlm_probability = 0.3;
  c.masking.plm_probability = 0.5;
  c.masking.max_span_length = 2;
  c.masking.rtd_discriminator_weight = 1.0;
  FeatureConfig hint;
  hint.name = "hint";
  hint.cardinality = 21;
  c.input.features = {hint};
  auto model = build(c);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  auto [train, train_hints, train_lengths] = hinted_sessions(256, model->training_sequence_length(), 11);
  model->train();
  const int epochs = GetParam().masking == "clm" ? 12 : GetParam().masking == "rtd" ? 20 : 40;
  for (int epoch = 0; epoch < epochs; ++epoch)
    for (int64_t start = 0; start < train.size(0); start += 32) {
      TrainingBatch batch{train.slice(0, start, start + 32), {{"hint", train_hints.slice(0, start, start + 32)}}, {}};
      auto loss = model->training_loss(batch);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
    }
  model->eval();
  torch::NoGradGuard no_grad;
  auto [test, test_hints, lengths] = hinted_sessions(200, c.max_length + 1, 99);
  // The prefix without its last item (the target), and the hints of the prefix's own events.
  auto prefix_lengths = lengths - 1;
  auto keep = torch::arange(c.max_length).view({1, -1}).lt(prefix_lengths.view({-1, 1}));
  auto prefix = test.slice(1, 0, c.max_length) * keep;
  auto prefix_hints = test_hints.slice(1, 0, c.max_length) * keep;
  auto targets = test.gather(1, prefix_lengths.view({-1, 1})).squeeze(1);
  auto top = model->next_item_scores(PrefixBatch{prefix, prefix_lengths, {}, {{"hint", prefix_hints}}}).argmax(1);
  const double hit_rate = top.eq(targets).to(torch::kDouble).mean().item<double>();
  // Items alone: 0.05. The same bars as the item pattern above.
  EXPECT_GT(hit_rate, GetParam().masking == "clm" ? 0.6 : 0.25);
}

INSTANTIATE_TEST_SUITE_P(Bodies, SideFeaturePatternTest,
                         ::testing::Values(Case{"gpt2", "clm"}, Case{"sasrec", "clm"}, Case{"bert", "mlm"}, Case{"albert", "mlm"},
                                           Case{"electra", "rtd"}, Case{"xlnet", "plm"}, Case{"xlnet", "mlm"},
                                           Case{"transfo_xl", "clm"}, Case{"gru", "clm"}, Case{"lstm", "clm"}),
                         case_name);

// --- causal training never sees the future ----------------------------------------------------------------------------

class CausalLeakageTest : public seqrec::test::TempDirTest, public ::testing::WithParamInterface<Case> {};

TEST_P(CausalLeakageTest, ChangingALaterItemLeavesEarlierOutputsUnchanged) {
  auto c = tiny_config(GetParam().architecture, "clm");
  c.body.segment_length = 3;  // Transformer-XL: three segments, so the memory path is exercised too
  c.body.memory_length = 4;
  auto model = build(c);
  model->eval();
  auto items = torch::tensor({{3, 7, 9, 12, 5, 20, 8}}, torch::kLong);
  auto changed = items.clone();
  changed[0][4] = 15;
  auto a = causal_hidden(*model, items), b = causal_hidden(*model, changed);
  seqrec::test::expect_tensor_near(a.slice(1, 0, 4), b.slice(1, 0, 4), 1e-6);
  EXPECT_GT((a[0][4] - b[0][4]).abs().max().item<double>(), 1e-5) << "position 4 must see its own input";
  // And the training loss at the first positions does not move either: scores of position 2 are unchanged.
  seqrec::test::expect_tensor_near(model->next_item_scores(items, torch::tensor({3})),
                                   model->next_item_scores(changed, torch::tensor({3})), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Bodies, CausalLeakageTest,
                         ::testing::Values(Case{"gpt2", "clm"}, Case{"sasrec", "clm"}, Case{"bert", "clm"}, Case{"albert", "clm"},
                                           Case{"electra", "clm"}, Case{"xlnet", "clm"}, Case{"transfo_xl", "clm"},
                                           Case{"gru", "clm"}, Case{"lstm", "clm"}),
                         case_name);

// --- save -> load gives identical outputs -------------------------------------------------------------------------------

class SaveLoadTest : public seqrec::test::TempDirTest, public ::testing::WithParamInterface<Case> {};

TEST_P(SaveLoadTest, ReloadedModelScoresIdentically) {
  auto c = tiny_config(GetParam().architecture, GetParam().masking);
  c.head.output_bias = true;
  auto model = build(c);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.01);
  }
  torch::serialize::OutputArchive out;
  model->save(out);
  out.save_to(path("model.pt").string());
  // The config travels as JSON, as in a checkpoint.
  auto reloaded = build(ModelConfig::from_json(nlohmann::json::parse(c.to_json().dump())));
  torch::serialize::InputArchive in;
  in.load_from(path("model.pt").string());
  reloaded->load(in);
  model->eval();
  reloaded->eval();
  auto items = torch::tensor({{3, 4, 5, 6}, {7, 8, 0, 0}}, torch::kLong);
  auto lengths = torch::tensor({4, 2}, torch::kLong);
  auto a = model->next_item_scores(items, lengths), b = reloaded->next_item_scores(items, lengths);
  EXPECT_TRUE(torch::equal(a, b));
  // Serving's top-k path (no score matrix) gives the full scores' top-k.
  torch::NoGradGuard no_grad;
  auto [values, ids] = reloaded->next_item_top_k(items, lengths, 5);
  auto [expected_values, expected_ids] = b.topk(5, 1);
  seqrec::test::expect_tensor_near(values, expected_values, 1e-5);
  EXPECT_TRUE(torch::equal(ids, expected_ids));
}

INSTANTIATE_TEST_SUITE_P(Bodies, SaveLoadTest,
                         ::testing::Values(Case{"gpt2", "clm"}, Case{"bert", "mlm"}, Case{"albert", "mlm"}, Case{"electra", "rtd"},
                                           Case{"xlnet", "plm"}, Case{"transfo_xl", "clm"}, Case{"gru", "clm"},
                                           Case{"lstm", "clm"}),
                         case_name);

using SequenceModelTest = seqrec::test::TempDirTest;

TEST_F(SequenceModelTest, ScoringOnlyTheLastPositionsMatchesTheFullSequence) {
  // GPT-2 scores through causal_last_positions (plain loops, each row's positions up to its last only); the
  // result must be the full forward's, for rows of different lengths, an all-padding row, and both activations.
  for (const char* architecture : {"gpt2", "bert"})
    for (const char* activation : {"gelu", "relu"}) {
    auto c = tiny_config(architecture, "clm");
    c.num_layers = 2;
    c.body.activation = parse_choice(activation_choices(), activation, "activation");
    auto model = build(c);
    model->eval();
    torch::NoGradGuard no_grad;
    auto items = torch::tensor({{3, 4, 5, 6, 7}, {7, 8, 0, 0, 0}, {9, 0, 0, 0, 0}, {0, 0, 0, 0, 0}}, torch::kLong);
    auto lengths = torch::tensor({5, 2, 1, 0}, torch::kLong);
    auto full = causal_hidden(*model, items);
    auto expected = torch::stack({full[0][4], full[1][1], full[2][0]});
    auto scored = model->next_item_hidden(items, lengths);
    seqrec::test::expect_tensor_near(scored.slice(0, 0, 3), expected, 1e-5);
    EXPECT_TRUE(torch::isfinite(scored[3]).all().item<bool>()) << "an empty session still gets finite scores";
  }
}

TEST_F(SequenceModelTest, PackedTokensMatchTheUnpaddedForward) {
  // A mostly padded batch runs its token-wise layers on the real tokens only (TokenPacking); every row must
  // get exactly what it gets alone, without padding (the unpacked path), and zeros on its padding.
  for (const Case& m : {Case{"gpt2", "clm"}, Case{"bert", "mlm"}, Case{"bert", "clm"}}) {
    auto model = build(tiny_config(m.architecture, m.masking));
    model->eval();
    torch::NoGradGuard no_grad;
    auto items = torch::tensor({{3, 4, 5, 6, 7, 8}, {7, 8, 0, 0, 0, 0}, {9, 0, 0, 0, 0, 0}}, torch::kLong);
    const std::vector<int64_t> lengths{6, 2, 1};
    auto packed = causal_hidden(*model, items);
    for (int64_t b = 0; b < 3; ++b) {
      auto alone = causal_hidden(*model, items.slice(0, b, b + 1).slice(1, 0, lengths[b]));
      seqrec::test::expect_tensor_near(packed[b].slice(0, 0, lengths[b]), alone[0], 1e-5);
      EXPECT_TRUE(packed[b].slice(0, lengths[b]).eq(0).all().item<bool>()) << m.architecture << " row " << b;
    }
  }
}

TEST_F(SequenceModelTest, ReadsSeqrec01Gpt2Checkpoints) {
  // seqrec 0.1 saved a flat GPT-2: item_embedding, position_embedding, blocks, ln_final, reserved_bias.
  auto c = tiny_config("gpt2");
  auto model = build(c);
  torch::serialize::OutputArchive legacy, part;
  model->input->item_embedding->save(part);
  legacy.write("item_embedding", part);
  auto old_positions = model->body->named_children()["position_embedding"];
  for (const auto& child : model->body->named_children()) {
    torch::serialize::OutputArchive sub;
    child.value()->save(sub);
    legacy.write(child.key(), sub);
  }
  legacy.write("reserved_bias", model->head->reserved_bias, /*is_buffer=*/true);
  legacy.save_to(path("old.pt").string());
  auto reloaded = build(ModelConfig::from_json({{"architecture", "gpt2"}, {"num_items", 23}, {"d_model", 16}, {"num_heads", 2},
                                               {"num_layers", 2}, {"max_length", 8}, {"dropout", 0.0}}));
  torch::serialize::InputArchive in;
  in.load_from(path("old.pt").string());
  reloaded->load(in);
  model->eval();
  reloaded->eval();
  auto items = torch::tensor({{3, 4, 5}}, torch::kLong);
  EXPECT_TRUE(torch::equal(model->next_item_scores(items, torch::tensor({3})), reloaded->next_item_scores(items, torch::tensor({3}))));
}

TEST_F(SequenceModelTest, MlmScoresReadTheAppendedMaskPosition) {
  auto model = build(tiny_config("bert", "mlm"));
  model->eval();
  auto items = torch::tensor({{3, 4, 5, 0}, {6, 7, 0, 0}}, torch::kLong);
  auto lengths = torch::tensor({3, 2}, torch::kLong);
  auto scores = model->next_item_scores(items, lengths);
  auto batch = mask_last_for_inference(items, lengths, /*permutation=*/false);
  auto hidden = model->encode(batch);
  seqrec::test::expect_tensor_near(scores[0].slice(0, 3), model->head->logits(hidden[0][3]).slice(0, 3));
  seqrec::test::expect_tensor_near(scores[1].slice(0, 3), model->head->logits(hidden[1][2]).slice(0, 3));
  EXPECT_TRUE(torch::isinf(scores.slice(1, 0, 3)).all().item<bool>()) << "padding, null and OOV are never scored";
}

TEST_F(SequenceModelTest, RightPaddingDoesNotChangeScores) {
  for (const auto& arch : {"gpt2", "bert", "xlnet", "transfo_xl", "gru"}) {
    auto model = build(tiny_config(arch));
    model->eval();
    auto a = model->next_item_scores(torch::tensor({{4, 8, 6}}, torch::kLong), torch::tensor({3}));
    auto b = model->next_item_scores(torch::tensor({{4, 8, 6, 0, 0}}, torch::kLong), torch::tensor({3}));
    seqrec::test::expect_tensor_near(a.slice(1, 3), b.slice(1, 3), 1e-5);
  }
}

TEST_F(SequenceModelTest, TrainingSequenceLengthFollowsTheMasking) {
  EXPECT_EQ(build(tiny_config("gpt2"))->training_sequence_length(), 9) << "clm shifts by one";
  EXPECT_EQ(build(tiny_config("bert", "mlm"))->training_sequence_length(), 9) << "8 items and an appended [MASK]";
}

TEST_F(SequenceModelTest, InvalidBodyMaskingPairIsRejected) {
  try {
    build(tiny_config("gpt2", "mlm"));
    FAIL();
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("masking.scheme 'mlm' does not fit architecture 'gpt2', which takes clm"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(build(tiny_config("transfo_xl", "plm")), InvalidInput);
  EXPECT_THROW(build(tiny_config("gru", "mlm")), InvalidInput);
}

TEST_F(SequenceModelTest, TooLongInputIsRejected) {
  auto model = build(tiny_config("gpt2"));
  EXPECT_THROW(model->next_item_scores(torch::ones({1, 10}, torch::kLong) * 3, torch::tensor({10})), InvalidInput);
}

TEST_F(SequenceModelTest, AlbertSharesOneLayerAcrossDepth) {
  auto c = tiny_config("albert", "mlm");
  c.num_layers = 4;
  c.body.embedding_size = 8;
  auto albert = build(c);
  auto bert = build(tiny_config("bert", "mlm"));
  int64_t albert_layers = 0;
  for (const auto& p : albert->named_parameters())
    if (p.key().find("body.blocks.") != std::string::npos && p.key().find("mlp_in.weight") != std::string::npos) ++albert_layers;
  EXPECT_EQ(albert_layers, 1);
  EXPECT_EQ(albert->input->item_embedding->weight.size(1), 8) << "factorised item embedding";
  EXPECT_TRUE(albert->input->projection) << "8 -> d_model";
  EXPECT_TRUE(albert->head->projection) << "d_model -> 8 to tie the output layer";
  EXPECT_LT(albert->parameters().size(), bert->parameters().size() + 4);
}

TEST_F(SequenceModelTest, SessionTaskLossesAddWithTheirWeights) {
  auto c = tiny_config("gpt2");
  c.head.weight = 0.0;
  TaskConfig task;
  task.type = TaskType::kRegression;
  task.target = "revenue";
  task.weight = 2.0;
  c.tasks.push_back(task);
  auto model = build(c);
  model->eval();
  auto items = torch::tensor({{3, 4, 5}, {6, 7, 0}}, torch::kLong);
  auto targets = torch::tensor({1.0f, -1.0f});
  auto loss = model->training_loss(TrainingBatch{items, {}, {{"revenue", targets}}});
  // Under clm the model sees items[:, :-1]; the task reads the last real position of that input.
  auto outputs = model->task_outputs(PrefixBatch{items.slice(1, 0, 2), torch::tensor({2, 1}), {}, {}});
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_NEAR(loss.item<double>(), 2.0 * (outputs[0] - targets).pow(2).mean().item<double>(), 1e-5);
  EXPECT_THROW(model->training_loss(TrainingBatch{items, {}, {}}), InvalidInput);
}

}  // namespace seqrec::model

namespace seqrec::model {

TEST_F(SequenceModelTest, DescribeCountsParametersByPart) {
  auto c = tiny_config("gru");
  c.input.pretrained_item_vectors = write("v.txt", "3 " + std::string(16 * 2, ' ').replace(0, 0, "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1")).string();
  auto model = build(c);
  auto j = describe_model(*model);
  int64_t total = 0;
  for (const auto& p : model->parameters()) total += p.numel();
  EXPECT_EQ(j["parameters"]["total"], total);
  EXPECT_EQ(j["parameters"]["trainable"], total - 23 * 16) << "the frozen pre-trained item embedding";
  EXPECT_EQ(j["parameters"]["by_part"]["input"], 23 * 16);
  EXPECT_EQ(j["resolved"]["masking"]["scheme"], "clm");
}

}  // namespace seqrec::model
