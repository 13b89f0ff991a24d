#include "seqrec/serve/metrics.h"

#include <sstream>

namespace seqrec::serve {

ServerMetrics::ServerMetrics(std::string model_name, std::string model_version)
    : labels_("{model=\"" + model_name + "\",version=\"" + model_version + "\"}") {}

void ServerMetrics::record_request(bool success, int64_t duration_us) {
  (success ? success_ : failure_) += 1;
  // Triton's cumulative durations cover successful requests only.
  if (success) request_us_ += duration_us;
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
