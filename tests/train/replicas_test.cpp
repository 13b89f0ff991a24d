#include "seqrec/train/replicas.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <random>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/session_model.h"
#include "support.h"

namespace seqrec::train {

namespace {
schema::SessionTable sessions(int64_t count, int64_t num_items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  schema::SessionTable t;
  for (int64_t s = 0; s < count; ++s) {
    std::vector<int64_t> items, times;
    const int64_t n = 2 + static_cast<int64_t>(rng() % 12);
    for (int64_t i = 0; i < n; ++i) {
      items.push_back(3 + static_cast<int64_t>(rng() % (num_items - 3)));
      times.push_back(i);
    }
    t.append("s" + std::to_string(s), items, times);
  }
  return t;
}

model::ModelConfig small_model(double dropout) {
  model::ModelConfig c;
  c.num_items = 40;
  c.d_model = 16;
  c.num_heads = 2;
  c.num_layers = 2;
  c.max_length = 12;
  c.dropout = dropout;
  return c;
}

std::vector<torch::Tensor> grads_of(model::SessionModel& m) {
  std::vector<torch::Tensor> out;
  for (auto& p : m.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return out;
}

/// The gradient Replicas must produce: each shard's loss (rows dealt round-robin) weighted by its share of the rows.
std::vector<torch::Tensor> reference_grads(model::SessionModel& main, const schema::SessionTable& table,
                                           const std::vector<int64_t>& rows, int shards, double* loss_out) {
  auto copy = model::make_model(main.config());
  {
    torch::NoGradGuard no_grad;
    auto src = main.parameters(), dst = copy->parameters();
    for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  copy->train();
  auto total = torch::zeros({});
  for (int s = 0; s < shards; ++s) {
    std::vector<int64_t> shard;
    for (size_t i = s; i < rows.size(); i += shards) shard.push_back(rows[i]);
    auto batch = model::make_training_batch(table, shard, copy->training_sequence_length(), c10::Device(c10::kCPU));
    total = total + copy->training_loss(batch) * (static_cast<double>(shard.size()) / rows.size());
  }
  total.backward();
  *loss_out = total.item<double>();
  return grads_of(*copy);
}
}  // namespace

using ReplicasTest = test::TempDirTest;

TEST_F(ReplicasTest, GradientIsTheRowWeightedSumOfTheShardsAndFollowsBroadcastWeights) {
  auto table = sessions(37, 40, 5);
  std::vector<int64_t> rows(37);
  for (int64_t i = 0; i < 37; ++i) rows[i] = (i * 11) % 37;
  auto main = model::make_model(small_model(0.0));  // no dropout: the shards' losses are deterministic
  main->train();
  Replicas replicas(main, 3, 1);
  ASSERT_EQ(replicas.size(), 3);

  for (int round = 0; round < 2; ++round) {
    if (round == 1) {  // new weights on the main model reach the copies only through broadcast()
      torch::NoGradGuard no_grad;
      for (auto& p : main->parameters()) p.add_(torch::randn_like(p) * 0.05);
      replicas.broadcast();
    }
    for (auto& p : main->parameters()) p.mutable_grad().reset();
    double expected_loss = 0.0;
    auto expected = reference_grads(*main, table, rows, 3, &expected_loss);
    const double loss = replicas.backward(table, rows, 0.5, /*seed=*/7);
    EXPECT_NEAR(loss, 0.5 * expected_loss, 1e-5) << "round " << round;
    auto got = grads_of(*main);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(torch::allclose(got[i], 0.5 * expected[i], 1e-4, 1e-6)) << "round " << round << " parameter " << i;
  }
}

TEST_F(ReplicasTest, FewerRowsThanReplicasAndDropoutRepeatForTheSameSeed) {
  auto table = sessions(10, 40, 6);
  auto run = [&](uint64_t seed) {
    seed_everything(1);
    auto main = model::make_model(small_model(0.3));
    main->train();
    Replicas replicas(main, 4, 1);
    replicas.backward(table, {2, 7}, 1.0, seed);  // two rows: two replicas have nothing to do
    return grads_of(*main);
  };
  auto a = run(11), b = run(11), c = run(12);
  bool all_equal = true, any_differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    all_equal = all_equal && torch::equal(a[i], b[i]);
    any_differs = any_differs || !torch::equal(a[i], c[i]);
  }
  EXPECT_TRUE(all_equal) << "same seed, same dropout masks, same gradient";
  EXPECT_TRUE(any_differs) << "another seed draws other dropout masks";
}

TEST_F(ReplicasTest, StepGeneratorIsPerThreadAndRestored) {
  EXPECT_FALSE(step_generator().has_value());
  at::Tensor first, second;
  {
    StepGeneratorScope scope(3);
    ASSERT_TRUE(step_generator().has_value());
    first = at::rand({4}, step_generator());
  }
  EXPECT_FALSE(step_generator().has_value());
  {
    StepGeneratorScope scope(3);
    second = at::rand({4}, step_generator());
  }
  EXPECT_TRUE(torch::equal(first, second));
}

TEST_F(ReplicasTest, AutomaticCountIsOnePerThreadOnCpuForSmallOutputLayersAndOneOtherwise) {
  const int64_t small = 220 * 64, large = 2936 * 100;  // UCI's catalogue at d 64; yoochoose-100k's at d 100
  EXPECT_EQ(resolve_replicas(0, true, 2, small), 2);
  EXPECT_EQ(resolve_replicas(0, true, 16, small), 4);
  EXPECT_EQ(resolve_replicas(0, true, 1, small), 1);
  EXPECT_EQ(resolve_replicas(0, true, 2, large), 1);
  EXPECT_EQ(resolve_replicas(0, false, 8, small), 1);
  EXPECT_EQ(resolve_replicas(3, true, 1, large), 3);
  EXPECT_THROW(resolve_replicas(2, false, 8, small), InvalidInput);
  EXPECT_THROW(resolve_replicas(-1, true, 2, small), InvalidInput);
}

}  // namespace seqrec::train
