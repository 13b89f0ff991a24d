#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "seqrec/schema/session_dataset.h"
#include "seqrec/serve/metrics.h"
#include "seqrec/serve/predictor.h"

namespace seqrec::serve {

/// Dynamic batching as Triton does it: requests that arrive close together share one model execution.
struct BatcherOptions {
  int64_t max_batch_sessions = 64;    ///< sessions per model execution; a larger request runs alone
  /// How long the oldest request waits for others; 0 (Triton's default) = only those already queued. Under load
  /// requests queue behind running executions and batch anyway; waiting costs a timer wake-up (bench/NOTES.md).
  int64_t max_queue_delay_us = 0;
  int workers = 2;                    ///< threads running model executions
  int64_t max_queued_requests = 4096; ///< beyond this, requests fail fast with 503
};

/// What one request got back from the batcher.
struct BatchedResult {
  std::vector<Recommendation> recommendations;  ///< one per session of the request, in its order
  int64_t queue_us = 0;                         ///< from submit to the start of its model execution
  int64_t batch_sessions = 0;                   ///< sessions in the execution it shared
};

/// Queues sessionized requests and runs them on worker threads, several requests per Predictor call.
/// Each request gets exactly its own sessions back. Errors in an execution reach every request in it.
class DynamicBatcher {
 public:
  using Clock = std::chrono::steady_clock;

  DynamicBatcher(std::shared_ptr<const Predictor> predictor, BatcherOptions options, ServerMetrics* metrics = nullptr);
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  /// Blocks until the request is scored. Throws ServeError(503) when the queue is full, the batcher is stopped,
  /// or `deadline` passes before its execution starts; rethrows the execution's error otherwise.
  BatchedResult run(schema::SessionTable sessions, const PredictOptions& options, Clock::time_point deadline);

  /// Stops taking requests, finishes every queued one, then joins the workers. Idempotent.
  void stop();
  const BatcherOptions& options() const { return options_; }

 private:
  struct Job;
  void worker_loop();
  std::vector<std::shared_ptr<Job>> take_batch(std::unique_lock<std::mutex>& lock);
  void execute(const std::vector<std::shared_ptr<Job>>& jobs);

  std::shared_ptr<const Predictor> predictor_;
  BatcherOptions options_;
  ServerMetrics* metrics_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace seqrec::serve
