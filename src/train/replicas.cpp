#include "seqrec/train/replicas.h"

#include <ATen/Parallel.h>
#include <omp.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "seqrec/common/error.h"
#include "seqrec/common/random.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/session_model.h"

namespace seqrec::train {

namespace {
uint64_t mix(uint64_t x) {  // splitmix64's finaliser: nearby seeds give unrelated generators
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

IntraOpThreads::IntraOpThreads(int threads) : previous_(at::get_num_threads()) { omp_set_num_threads(threads); }

IntraOpThreads::~IntraOpThreads() { omp_set_num_threads(previous_); }

int resolve_replicas(int requested, bool device_is_cpu, int threads, int64_t output_layer_weights) {
  SEQREC_CHECK(requested >= 0, "--replicas must be >= 0 (0 = automatic), got ", requested);
  if (requested == 0) return device_is_cpu && output_layer_weights <= kSmallOutputLayer ? std::clamp(threads, 1, 4) : 1;
  SEQREC_CHECK(requested == 1 || device_is_cpu, "--replicas ", requested, " runs on the CPU only; use --replicas 1 on CUDA");
  return requested;
}

Replicas::Replicas(std::shared_ptr<model::SessionModel> main, int count, int threads_per_replica, Precision precision)
    : threads_per_replica_(std::max(1, threads_per_replica)), precision_(precision) {
  SEQREC_CHECK(count >= 1, "replicas: count must be >= 1, got ", count);
  models_.push_back(std::move(main));
  for (int r = 1; r < count; ++r) {
    auto copy = model::make_model(models_[0]->config());
    copy->train();
    models_.push_back(std::move(copy));
  }
  broadcast();
  shards_.resize(count);
  losses_.resize(count);
  errors_.resize(count);
  for (int r = 1; r < count; ++r) workers_.emplace_back([this, r] { worker_loop(r); });
}

Replicas::~Replicas() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void Replicas::broadcast() {
  torch::NoGradGuard no_grad;
  const auto& main = *models_[0];
  const auto params = main.parameters(), buffers = main.buffers();
  for (size_t r = 1; r < models_.size(); ++r) {
    auto dst_params = models_[r]->parameters(), dst_buffers = models_[r]->buffers();
    SEQREC_CHECK(dst_params.size() == params.size() && dst_buffers.size() == buffers.size(),
                 "replicas: a copy of the model has a different structure");
    for (size_t i = 0; i < params.size(); ++i) dst_params[i].copy_(params[i]);
    for (size_t i = 0; i < buffers.size(); ++i) dst_buffers[i].copy_(buffers[i]);
  }
}

void Replicas::run_shard(int replica) {
  losses_[replica] = 0.0;
  errors_[replica] = nullptr;
  const auto& rows = shards_[replica];
  if (rows.empty()) return;
  try {
    StepGeneratorScope generator(mix(seed_ + mix(static_cast<uint64_t>(replica) + 1)));
    auto& model = *models_[replica];
    auto batch = model::make_training_batch(*table_, rows, model.training_sequence_length(), c10::Device(c10::kCPU),
                                            model.batch_columns());
    const double weight = scale_ * static_cast<double>(rows.size()) / static_cast<double>(batch_rows_);
    at::Tensor loss;
    {
      AutocastScope autocast(precision_, c10::Device(c10::kCPU));  // autocast is per thread: set in each replica's
      loss = model.training_loss(batch) * weight;
    }
    loss.backward();
    losses_[replica] = loss.item<double>();
  } catch (...) {
    errors_[replica] = std::current_exception();
  }
}

void Replicas::worker_loop(int replica) {
  IntraOpThreads threads(threads_per_replica_);
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_shard(replica);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --pending_;
    }
    done_.notify_one();
  }
}

double Replicas::backward(const schema::SessionTable& table, const std::vector<int64_t>& rows, double scale, uint64_t seed) {
  const int count = size();
  for (auto& s : shards_) s.clear();
  // Round-robin keeps the shards' lengths, and so their work, alike in a batch of mixed lengths.
  for (size_t i = 0; i < rows.size(); ++i) shards_[i % count].push_back(rows[i]);
  table_ = &table;
  batch_rows_ = static_cast<int64_t>(rows.size());
  scale_ = scale;
  seed_ = seed;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = count - 1;
    ++generation_;
  }
  start_.notify_all();
  {
    IntraOpThreads threads(threads_per_replica_);
    run_shard(0);
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
  }
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);

  // The main model's gradients += every other replica's, in replica order (a repeatable sum).
  torch::NoGradGuard no_grad;
  auto main_params = models_[0]->parameters();
  double loss = losses_[0];
  for (int r = 1; r < count; ++r) {
    loss += losses_[r];
    auto params = models_[r]->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      auto& grad = params[i].mutable_grad();
      if (!grad.defined()) continue;
      auto& main_grad = main_params[i].mutable_grad();
      if (main_grad.defined())
        main_grad.add_(grad);
      else
        main_grad = grad;  // the replica's tensor moves over; its next backward allocates a fresh one
      grad.reset();
    }
  }
  return loss;
}

}  // namespace seqrec::train
