#include "seqrec/serve/metrics.h"

#include <chrono>
#include <sstream>

namespace seqrec::serve {

ServerMetrics::ServerMetrics(std::string model_name, std::string model_version)
    : name_(model_name), version_(model_version),
      labels_("{model=\"" + model_name + "\",version=\"" + model_version + "\"}") {}

void ServerMetrics::record_request(bool success, int64_t duration_us) {
  (success ? success_ : failure_) += 1;
  // Triton's cumulative durations cover successful requests only.
  (success ? request_us_ : failure_us_) += duration_us;
}

void ServerMetrics::record_request_phases(int64_t queue_us, int64_t input_us, int64_t output_us) {
  queue_us_ += queue_us;
  input_us_ += input_us;
  output_us_ += output_us;
}

void ServerMetrics::record_execution(int64_t sessions, int64_t infer_us) {
  exec_count_ += 1;
  inference_count_ += sessions;
  infer_us_ += infer_us;
  last_inference_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
}

nlohmann::json ServerMetrics::statistics_json() const {
  // Triton reports durations in nanoseconds; "count" of the phases is per successful request.
  auto stat = [](int64_t count, int64_t us) { return nlohmann::json{{"count", count}, {"ns", us * 1000}}; };
  const int64_t ok = success_;
  return {{"name", name_},
          {"version", version_},
          {"last_inference", last_inference_ms_.load()},
          {"inference_count", inference_count_.load()},
          {"execution_count", exec_count_.load()},
          {"inference_stats",
           {{"success", stat(ok, request_us_)},
            {"fail", stat(failure_, failure_us_)},
            {"queue", stat(ok, queue_us_)},
            {"compute_input", stat(ok, input_us_)},
            {"compute_infer", stat(ok, infer_us_)},
            {"compute_output", stat(ok, output_us_)}}},
          {"batch_stats", nlohmann::json::array()}};
}

std::string ServerMetrics::prometheus_text() const {
  std::ostringstream out;
  auto metric = [&](const char* name, const char* type, const char* help, int64_t value) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
        << name << labels_ << ' ' << value << '\n';
  };
  metric("nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes", success_);
  metric("nv_inference_request_failure", "counter", "Number of failed inference requests, all batch sizes", failure_);
  metric("nv_inference_count", "counter", "Number of inferences performed (sessions scored)", inference_count_);
  metric("nv_inference_exec_count", "counter", "Number of model executions performed (batches)", exec_count_);
  metric("nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting execution",
         pending_);
  metric("nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds",
         request_us_);
  metric("nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds", queue_us_);
  metric("nv_inference_compute_input_duration_us", "counter",
         "Cumulative compute input duration in microseconds (decoding and sessionizing)", input_us_);
  metric("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute inference duration in microseconds",
         infer_us_);
  metric("nv_inference_compute_output_duration_us", "counter", "Cumulative inference compute output duration in microseconds",
         output_us_);
  return out.str();
}

}  // namespace seqrec::serve
