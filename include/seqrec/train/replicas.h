#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "seqrec/common/runtime.h"
#include "seqrec/schema/session_dataset.h"

namespace seqrec::model {
class SessionModel;
}

namespace seqrec::train {

/// Data-parallel training steps inside one process on CPU, one model replica per thread.
///
/// The models this project trains are small (d_model 64, sessions of 20): most of a step is LibTorch ops too
/// small to split across cores, so intra-op threads idle (2 threads trained 1.24x as fast as 1 on UCI, while
/// two 1-thread runs side by side did 1.64x). Here each micro-batch's rows are dealt round-robin to the replicas;
/// each builds its shard's batch and runs forward and backward on its own thread with its own step generator
/// (common/random.h) seeded from the run's seed, the micro-batch and the replica; the gradients are then added
/// into the main model's in replica order. A run repeats exactly for a given replica count; the batch's
/// gradient is the shards' gradients weighted by their share of the rows, as in c10d's DistributedDataParallel.
class Replicas {
 public:
  /// `main` is replica 0 and runs on the calling thread; `count - 1` copies are built from its config. Each
  /// replica's thread runs `threads_per_replica` intra-op threads and its forward passes at `precision`.
  Replicas(std::shared_ptr<model::SessionModel> main, int count, int threads_per_replica,
           Precision precision = Precision::fp32);
  ~Replicas();
  Replicas(const Replicas&) = delete;
  Replicas& operator=(const Replicas&) = delete;

  int size() const { return static_cast<int>(models_.size()); }
  /// The intra-op threads of each replica's thread. The caller's thread should keep to these around the whole
  /// step too: a parallel region of more threads leaves OpenMP's idle threads spinning, taking a replica's core.
  int threads_per_replica() const { return threads_per_replica_; }
  /// Forward and backward of one micro-batch (`rows` of `table`) across the replicas: adds the gradient of
  /// `scale` x the batch's loss to the main model's gradients and returns `scale` x the loss.
  double backward(const schema::SessionTable& table, const std::vector<int64_t>& rows, double scale, uint64_t seed);
  /// Copies the main model's parameters and buffers into the other replicas (after every optimizer step).
  void broadcast();

 private:
  void run_shard(int replica);
  void worker_loop(int replica);

  std::vector<std::shared_ptr<model::SessionModel>> models_;
  int threads_per_replica_;
  Precision precision_;
  // The current micro-batch, read by every replica's thread.
  const schema::SessionTable* table_ = nullptr;
  std::vector<std::vector<int64_t>> shards_;
  std::vector<double> losses_;
  std::vector<std::exception_ptr> errors_;
  double scale_ = 1.0;
  int64_t batch_rows_ = 0;
  uint64_t seed_ = 0;
  // Workers (replicas 1..) wait for a new generation, run their shard and count down `pending_`.
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stopping_ = false;
};

/// Sets the calling thread's intra-op (OpenMP) threads for its lifetime. LibTorch and OpenBLAS read the calling
/// thread's OpenMP setting; at::get_num_threads() first runs LibTorch's one-time per-thread set-up, which would
/// otherwise overwrite ours on the thread's first parallel op.
class IntraOpThreads {
 public:
  explicit IntraOpThreads(int threads);
  ~IntraOpThreads();
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  int previous_;
};

/// Output layers up to this many weights (catalogue x d_model) are too small for intra-op threads to split well;
/// above it one replica with all threads trains faster (bench/NOTES.md, "Automatic replicas").
inline constexpr int64_t kSmallOutputLayer = 65536;

/// The replica count `requested` means on `device` with the process's intra-op threads: 0 = automatic (on CPU one
/// replica per thread, at most 4, when the output layer of `output_layer_weights` is small, else 1; 1 on CUDA), else
/// `requested` (more than 1 needs the CPU).
int resolve_replicas(int requested, bool device_is_cpu, int threads, int64_t output_layer_weights);

}  // namespace seqrec::train
