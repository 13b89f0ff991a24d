#include "seqrec/train/fused_adam.h"

#include <ATen/ops/_fused_adam.h>
#include <ATen/ops/_fused_adamw.h>
#include <ATen/ops/full.h>

#include <memory>
#include <vector>

namespace seqrec::train {

namespace {

/// One parameter group's tensors as the fused kernels take them, and its state brought up to date.
struct GroupTensors {
  std::vector<at::Tensor> params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps;
};

/// Gathers the parameters of `group` that have gradients, creating their state on first use as LibTorch's own
/// Adam/AdamW do. The step is counted in the state (which checkpoints save) and handed to the kernel as the float
/// tensors it reads, already advanced, as torch.optim's fused path does.
template <typename State>
GroupTensors gather(torch::optim::OptimizerParamGroup& group,
                    ska::flat_hash_map<void*, std::unique_ptr<torch::optim::OptimizerParamState>>& states, bool amsgrad) {
  GroupTensors t;
  for (auto& p : group.params()) {
    if (!p.grad().defined()) continue;
    auto& slot = states[p.unsafeGetTensorImpl()];
    if (!slot) {
      auto state = std::make_unique<State>();
      state->step(0);
      state->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
      state->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
      if (amsgrad) state->max_exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
      slot = std::move(state);
    }
    auto& state = static_cast<State&>(*slot);
    t.params.push_back(p);
    t.grads.push_back(p.grad());
    t.exp_avgs.push_back(state.exp_avg());
    t.exp_avg_sqs.push_back(state.exp_avg_sq());
    if (amsgrad) t.max_exp_avg_sqs.push_back(state.max_exp_avg_sq());
    state.step(state.step() + 1);
    t.steps.push_back(at::full({}, static_cast<double>(state.step()), p.options().dtype(at::kFloat)));
  }
  return t;
}

/// One optimizer step: the closure (if any), then `kernel` on each parameter group's gathered tensors.
template <typename State, typename Options, typename Kernel>
torch::Tensor fused_step(std::vector<torch::optim::OptimizerParamGroup>& groups,
                         ska::flat_hash_map<void*, std::unique_ptr<torch::optim::OptimizerParamState>>& states,
                         const torch::optim::Optimizer::LossClosure& closure, Kernel kernel) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : groups) {
    auto& o = static_cast<Options&>(group.options());
    auto t = gather<State>(group, states, o.amsgrad());
    if (t.params.empty()) continue;
    kernel(t.params, t.grads, t.exp_avgs, t.exp_avg_sqs, t.max_exp_avg_sqs, t.steps, o.lr(), std::get<0>(o.betas()),
           std::get<1>(o.betas()), o.weight_decay(), o.eps(), o.amsgrad(), /*maximize=*/false, std::nullopt,
           std::nullopt);
  }
  return loss;
}

}  // namespace

torch::Tensor FusedAdamW::step(LossClosure closure) {
  return fused_step<torch::optim::AdamWParamState, torch::optim::AdamWOptions>(
      param_groups_, state_, closure, [](auto&&... args) { at::_fused_adamw_(args...); });
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  return fused_step<torch::optim::AdamParamState, torch::optim::AdamOptions>(
      param_groups_, state_, closure, [](auto&&... args) { at::_fused_adam_(args...); });
}

}  // namespace seqrec::train
