#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "seqrec/serve/batcher.h"
#include "seqrec/export/bundle.h"
#include "seqrec/serve/metrics.h"
#include "seqrec/serve/predictor.h"
#include "seqrec/serve/tensor.h"

namespace seqrec::serve {

/// A KServe v2 inference request, whatever transport it came by.
struct InferRequest {
  std::string model_name;
  std::string model_version;  ///< empty = the served version
  std::string id;             ///< echoed back
  std::vector<InferTensor> inputs;
  /// Outputs asked for (name and binary_output); empty = all of session_id, item_ids, item_id_scores.
  std::vector<InferTensor> outputs;
  nlohmann::json parameters = nlohmann::json::object();  ///< top_k (int), exclude_seen (bool)
};

/// A KServe v2 inference response: session_id [S] BYTES, item_ids [S, k] BYTES, item_id_scores [S, k] FP32.
struct InferResponse {
  std::string model_name;
  std::string model_version;
  std::string id;
  std::vector<InferTensor> outputs;
};

/// How a served model behaves under load, and what a request may ask for.
struct ServiceOptions {
  std::string model_name;                 ///< empty = the bundle's model name
  std::string model_version = "1";
  BatcherOptions batching;
  int64_t max_events_per_request = 100000;  ///< more rows in one request -> 400
  int64_t default_top_k = 10;
  int64_t max_top_k = 1000;
  int64_t request_timeout_ms = 10000;     ///< a request not started by then fails with 503
};

/// The transport-neutral server: health, metadata and inference over one Predictor, with dynamic batching
/// and metrics. The HTTP and gRPC servers are thin adapters over it; tests drive it without sockets.
class ModelService {
 public:
  ModelService(std::shared_ptr<const Predictor> predictor, ServiceOptions options, artifacts::BundleManifest manifest = {});
  ~ModelService();

  bool live() const { return true; }
  bool ready() const { return ready_; }
  /// Throws ServeError(404) unless `name` (and `version`, when not empty) is the served model.
  void require_model(const std::string& name, const std::string& version) const;

  nlohmann::json server_metadata() const;
  nlohmann::json model_metadata() const;
  nlohmann::json model_config() const;
  /// The raw event columns the model takes, in order: (name, preferred datatype).
  std::vector<std::pair<std::string, std::string>> input_columns() const;
  /// The outputs a request may ask for: session_id, item_ids, item_id_scores, then one per session task.
  std::vector<std::string> output_names() const;

  /// Validates the request, sessionizes its raw events with the saved workflow, scores them through the batcher.
  /// Throws ServeError with 400/404/503 for the caller's problems. Records metrics, except the request total,
  /// which the transport records with its encoding time (record_request).
  InferResponse infer(const InferRequest& request);
  /// A request's input tensors as the workflow's raw input columns (what `etl` reads from a file), for
  /// Workflow::transform_frame; throws ServeError(400) naming the bad input.
  etl::Frame raw_frame_from_inputs(const std::vector<InferTensor>& inputs) const;

  /// Ends a request for the metrics: success or not, and its end-to-end time.
  void record_request(bool success, std::chrono::steady_clock::time_point started);
  ServerMetrics& metrics() { return metrics_; }
  const std::string& model_name() const { return options_.model_name; }
  const std::string& model_version() const { return options_.model_version; }
  const Predictor& predictor() const { return *predictor_; }

  /// Not ready from now on; queued requests finish, new ones get 503. Idempotent.
  void shutdown();

 private:
  std::shared_ptr<const Predictor> predictor_;
  ServiceOptions options_;
  artifacts::BundleManifest manifest_;
  ServerMetrics metrics_;
  DynamicBatcher batcher_;
  std::atomic<bool> ready_{true};
};

}  // namespace seqrec::serve
