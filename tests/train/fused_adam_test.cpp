#include <gtest/gtest.h>
#include <torch/serialize.h>

#include "seqrec/train/fused_adam.h"
#include "support.h"

namespace seqrec::train {

namespace {
/// Two parameter groups (decayed matrix, undecayed bias) stepped `steps` times on fixed gradients.
template <typename Optimizer, typename Options>
std::vector<torch::Tensor> run(int steps, double weight_decay, bool amsgrad) {
  torch::manual_seed(7);
  auto w = torch::randn({5, 4}, torch::requires_grad()), b = torch::randn({4}, torch::requires_grad());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{w},
                      std::make_unique<Options>(Options(1e-2).betas({0.9, 0.98}).weight_decay(weight_decay).amsgrad(amsgrad)));
  groups.emplace_back(std::vector<torch::Tensor>{b}, std::make_unique<Options>(Options(1e-2).weight_decay(0.0).amsgrad(amsgrad)));
  Optimizer optimizer(std::move(groups), Options(1e-2));
  for (int s = 0; s < steps; ++s) {
    optimizer.zero_grad();
    auto x = torch::randn({3, 5});
    (torch::matmul(x, w) + b).pow(2).sum().backward();
    optimizer.step();
  }
  return {w.detach().clone(), b.detach().clone()};
}
}  // namespace

TEST(FusedAdamTest, FusedAdamWMatchesLibTorchsAdamW) {
  for (bool amsgrad : {false, true}) {
    auto fused = run<FusedAdamW, torch::optim::AdamWOptions>(6, 0.1, amsgrad);
    auto plain = run<torch::optim::AdamW, torch::optim::AdamWOptions>(6, 0.1, amsgrad);
    for (size_t i = 0; i < fused.size(); ++i) test::expect_tensor_near(fused[i], plain[i], 1e-6);
  }
}

TEST(FusedAdamTest, FusedAdamMatchesLibTorchsAdamWithL2) {
  auto fused = run<FusedAdam, torch::optim::AdamOptions>(6, 0.1, false);
  auto plain = run<torch::optim::Adam, torch::optim::AdamOptions>(6, 0.1, false);
  for (size_t i = 0; i < fused.size(); ++i) test::expect_tensor_near(fused[i], plain[i], 1e-6);
}

TEST(FusedAdamTest, StateSavedByOneLoadsIntoTheOther) {
  // Checkpoints written before the fused step (LibTorch's AdamW state) resume with it, and the other way round.
  auto w = torch::randn({3, 3}, torch::requires_grad());
  torch::optim::AdamW plain({w}, torch::optim::AdamWOptions(1e-2));
  for (int s = 0; s < 3; ++s) {
    plain.zero_grad();
    w.sum().backward();
    plain.step();
  }
  std::stringstream stream;
  {
    torch::serialize::OutputArchive archive;
    plain.save(archive);
    archive.save_to(stream);
  }
  auto w2 = w.detach().clone().requires_grad_(true);
  FusedAdamW fused({w2}, torch::optim::AdamWOptions(1e-2));
  {
    torch::serialize::InputArchive archive;
    archive.load_from(stream);
    fused.load(archive);
  }
  plain.zero_grad();
  w.sum().backward();
  plain.step();
  fused.zero_grad();
  w2.sum().backward();
  fused.step();
  test::expect_tensor_near(w2.detach(), w.detach(), 1e-6);
  const auto& state = static_cast<torch::optim::AdamWParamState&>(*fused.state().begin()->second);
  EXPECT_EQ(state.step(), 4);
}

}  // namespace seqrec::train
