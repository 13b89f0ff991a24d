#include "seqrec/serve/batcher.h"

#include <future>

#include "seqrec/common/error.h"
#include "seqrec/serve/tensor.h"

namespace seqrec::serve {

namespace {
int64_t micros_between(DynamicBatcher::Clock::time_point a, DynamicBatcher::Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::microseconds>(b - a).count();
}
}  // namespace

struct DynamicBatcher::Job {
  schema::SessionTable sessions;
  PredictOptions options;
  Clock::time_point enqueued;
  Clock::time_point deadline;
  std::promise<BatchedResult> promise;
};

DynamicBatcher::DynamicBatcher(std::shared_ptr<const Predictor> predictor, BatcherOptions options, ServerMetrics* metrics)
    : predictor_(std::move(predictor)), options_(options), metrics_(metrics) {
  SEQREC_CHECK(options_.max_batch_sessions >= 1, "--max-batch must be >= 1, got ", options_.max_batch_sessions);
  SEQREC_CHECK(options_.max_queue_delay_us >= 0, "--max-queue-delay-us must be >= 0, got ", options_.max_queue_delay_us);
  SEQREC_CHECK(options_.workers >= 1, "--workers must be >= 1, got ", options_.workers);
  SEQREC_CHECK(options_.max_queued_requests >= 1, "--max-queue must be >= 1, got ", options_.max_queued_requests);
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

DynamicBatcher::~DynamicBatcher() { stop(); }

void DynamicBatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
}

BatchedResult DynamicBatcher::run(schema::SessionTable sessions, const PredictOptions& options, Clock::time_point deadline) {
  auto job = std::make_shared<Job>();
  job->sessions = std::move(sessions);
  job->options = options;
  job->enqueued = Clock::now();
  job->deadline = deadline;
  auto result = job->promise.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) throw ServeError(503, "the server is shutting down; retry on another instance");
    if (static_cast<int64_t>(queue_.size()) >= options_.max_queued_requests)
      throw ServeError(503, "the request queue is full (" + std::to_string(options_.max_queued_requests) +
                                " requests); retry later");
    queue_.push_back(job);
  }
  if (metrics_) metrics_->add_pending(1);
  wake_.notify_one();
  return result.get();
}

std::vector<std::shared_ptr<DynamicBatcher::Job>> DynamicBatcher::take_batch(std::unique_lock<std::mutex>& lock) {
  std::vector<std::shared_ptr<Job>> jobs;
  jobs.push_back(queue_.front());
  queue_.pop_front();
  int64_t sessions = jobs.front()->sessions.size();
  const auto wait_until = jobs.front()->enqueued + std::chrono::microseconds(options_.max_queue_delay_us);
  while (sessions < options_.max_batch_sessions) {
    if (!queue_.empty()) {
      if (sessions + queue_.front()->sessions.size() > options_.max_batch_sessions) break;
      sessions += queue_.front()->sessions.size();
      jobs.push_back(queue_.front());
      queue_.pop_front();
      continue;
    }
    // Waiting for company is only worth it while the oldest request's delay budget lasts.
    if (stopping_ || Clock::now() >= wait_until) break;
    wake_.wait_until(lock, wait_until);
  }
  return jobs;
}

void DynamicBatcher::worker_loop() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> jobs;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything queued has been taken
      jobs = take_batch(lock);
    }
    execute(jobs);
  }
}

void DynamicBatcher::execute(const std::vector<std::shared_ptr<Job>>& jobs) {
  const auto start = Clock::now();
  if (metrics_) metrics_->add_pending(-static_cast<int64_t>(jobs.size()));
  std::vector<std::shared_ptr<Job>> live;
  for (const auto& job : jobs) {
    if (start > job->deadline)
      job->promise.set_exception(std::make_exception_ptr(ServeError(
          503, "the request waited " + std::to_string(micros_between(job->enqueued, start) / 1000) +
                   " ms in the queue, past its time limit; the server is overloaded, retry later")));
    else
      live.push_back(job);
  }
  if (live.empty()) return;
  schema::SessionTable merged;
  std::vector<PredictOptions> per_session;
  for (const auto& job : live) {
    merged.append(job->sessions);  // side-feature columns too
    per_session.insert(per_session.end(), static_cast<size_t>(job->sessions.size()), job->options);
  }
  try {
    auto recommendations = predictor_->predict(merged, per_session);
    const auto end = Clock::now();
    if (metrics_) metrics_->record_execution(merged.size(), micros_between(start, end));
    size_t next = 0;
    for (const auto& job : live) {
      BatchedResult result;
      result.queue_us = micros_between(job->enqueued, start);
      result.batch_sessions = merged.size();
      const size_t n = static_cast<size_t>(job->sessions.size());
      result.recommendations.assign(std::make_move_iterator(recommendations.begin() + next),
                                    std::make_move_iterator(recommendations.begin() + next + n));
      next += n;
      job->promise.set_value(std::move(result));
    }
  } catch (...) {
    for (const auto& job : live) job->promise.set_exception(std::current_exception());
  }
}

}  // namespace seqrec::serve
