#pragma once
#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace seqrec::serve {

/// Counters a served model keeps, rendered in Prometheus text format under Triton's metric names
/// (nv_inference_*), labelled model="name",version="1". Every method is thread-safe.
class ServerMetrics {
 public:
  ServerMetrics(std::string model_name, std::string model_version);

  /// One request finished (successfully or not), end to end including decoding and encoding.
  void record_request(bool success, int64_t duration_us);
  /// Per successful request: time waiting for a batch, time decoding and sessionizing, time encoding outputs.
  void record_request_phases(int64_t queue_us, int64_t input_us, int64_t output_us);
  /// One model execution over `sessions` sessions (nv_inference_count counts sessions, as Triton counts batch rows).
  void record_execution(int64_t sessions, int64_t infer_us);
  void add_pending(int64_t delta) { pending_ += delta; }

  /// Requests queued for the batcher and not yet executed.
  int64_t pending() const { return pending_; }
  int64_t successes() const { return success_; }
  int64_t failures() const { return failure_; }
  int64_t executions() const { return exec_count_; }
  int64_t inferences() const { return inference_count_; }

  /// The Prometheus exposition text (/metrics).
  std::string prometheus_text() const;
  /// One entry of Triton's statistics extension (GET /v2/models/{name}/stats): counts and cumulative
  /// nanoseconds for success, fail, queue, compute_input, compute_infer and compute_output.
  nlohmann::json statistics_json() const;

 private:
  std::string name_, version_, labels_;
  std::atomic<int64_t> success_{0}, failure_{0}, inference_count_{0}, exec_count_{0};
  std::atomic<int64_t> request_us_{0}, failure_us_{0}, queue_us_{0}, input_us_{0}, infer_us_{0}, output_us_{0};
  std::atomic<int64_t> last_inference_ms_{0};  ///< wall clock of the last execution, ms since the epoch
  std::atomic<int64_t> pending_{0};
};

}  // namespace seqrec::serve
