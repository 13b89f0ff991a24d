#include "seqrec/serve/model_service.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "seqrec/common/error.h"

namespace seqrec::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* kOutputSessionId = "session_id";
const char* kOutputItemIds = "item_ids";
const char* kOutputScores = "item_id_scores";

ServiceOptions resolve(ServiceOptions options, const artifacts::BundleManifest& manifest) {
  if (options.model_name.empty()) options.model_name = manifest.model_name.empty() ? "seqrec" : manifest.model_name;
  if (options.model_version.empty()) options.model_version = "1";
  return options;
}

int64_t micros_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
}

// A request's column as text, one entry per row, for the ETL's parser: BYTES as they are, integers in decimal (so 42
// and "42" are the same raw id, as they are in a CSV file the workflow was fitted on), floats as the shortest text that
// reads back to the same double.
std::vector<std::string> as_text(const InferTensor& t) {
  std::vector<std::string> out;
  switch (tensor_kind(t.datatype, t.name)) {
    case TensorKind::kBytes: return t.bytes;
    case TensorKind::kInt:
      out.reserve(t.ints.size());
      for (int64_t v : t.ints) out.push_back(std::to_string(v));
      return out;
    case TensorKind::kFloat:
      out.reserve(t.floats.size());
      for (double v : t.floats) {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), v);
        out.emplace_back(buffer, end);
      }
      return out;
  }
  return out;
}

int64_t int_parameter(const json& parameters, const char* name, int64_t fallback) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return fallback;
  if (!it->is_number_integer()) throw ServeError(400, std::string("parameter '") + name + "' must be an integer, got " + it->dump());
  return it->get<int64_t>();
}

bool bool_parameter(const json& parameters, const char* name, bool fallback) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return fallback;
  if (!it->is_boolean()) throw ServeError(400, std::string("parameter '") + name + "' must be true or false, got " + it->dump());
  return it->get<bool>();
}

}  // namespace

ModelService::ModelService(std::shared_ptr<const Predictor> predictor, ServiceOptions options, artifacts::BundleManifest manifest)
    : predictor_(std::move(predictor)),
      options_(resolve(std::move(options), manifest)),
      manifest_(std::move(manifest)),
      metrics_(options_.model_name, options_.model_version),
      batcher_(predictor_, options_.batching, &metrics_) {
  SEQREC_CHECK(options_.max_events_per_request >= 1, "--max-events must be >= 1");
  SEQREC_CHECK(options_.default_top_k >= 1 && options_.default_top_k <= options_.max_top_k,
               "--top-k must be between 1 and --max-top-k (", options_.max_top_k, "), got ", options_.default_top_k);
  SEQREC_CHECK(options_.request_timeout_ms >= 1, "--request-timeout-ms must be >= 1");
}

ModelService::~ModelService() { shutdown(); }

void ModelService::shutdown() {
  ready_ = false;
  batcher_.stop();
}

void ModelService::require_model(const std::string& name, const std::string& version) const {
  if (name != options_.model_name)
    throw ServeError(404, "unknown model '" + name + "'; this server serves '" + options_.model_name + "'");
  if (!version.empty() && version != options_.model_version)
    throw ServeError(404, "model '" + name + "' has no version '" + version + "'; the served version is '" +
                              options_.model_version + "'");
}

std::vector<std::pair<std::string, std::string>> ModelService::input_columns() const {
  std::vector<std::pair<std::string, std::string>> columns;
  for (const auto& c : predictor_->workflow().input().columns)
    columns.emplace_back(c.name, c.dtype == etl::DType::kString ? "BYTES" : c.dtype == etl::DType::kFloat64 ? "FP32" : "INT64");
  return columns;
}

json ModelService::server_metadata() const {
  return {{"name", "seqrec"}, {"version", manifest_.seqrec_version.empty() ? "unknown" : manifest_.seqrec_version},
          {"extensions", {"binary_tensor_data", "parameters", "model_configuration", "statistics"}}};
}

std::vector<std::string> ModelService::output_names() const {
  std::vector<std::string> names{kOutputSessionId, kOutputItemIds, kOutputScores};
  // Session tasks as Transformers4Rec names their outputs: "<target>/binary_classification_task", "<target>/regression_task".
  for (const auto& t : predictor_->model_config().tasks)
    names.push_back(t.target + (t.type == model::TaskType::kBinary ? "/binary_classification_task" : "/regression_task"));
  return names;
}

json ModelService::model_metadata() const {
  json outputs = json::array();
  for (const auto& name : output_names()) {
    const bool ids = name == kOutputSessionId || name == kOutputItemIds;
    outputs.push_back({{"name", name}, {"datatype", ids ? "BYTES" : "FP32"},
                       {"shape", name == kOutputItemIds || name == kOutputScores ? json{-1, -1} : json{-1}}});
  }
  json inputs = json::array();
  for (const auto& [name, datatype] : input_columns()) inputs.push_back({{"name", name}, {"datatype", datatype}, {"shape", {-1}}});
  return {{"name", options_.model_name},
          {"versions", {options_.model_version}},
          {"platform", "seqrec"},
          {"inputs", inputs},
          {"outputs", outputs}};
}

json ModelService::model_config() const {
  auto type_of = [](const std::string& datatype) { return datatype == "BYTES" ? std::string("TYPE_STRING") : "TYPE_" + datatype; };
  json input = json::array();
  for (const auto& [name, datatype] : input_columns()) input.push_back({{"name", name}, {"data_type", type_of(datatype)}, {"dims", {-1}}});
  json output = json::array();
  for (const auto& o : model_metadata().at("outputs"))
    output.push_back({{"name", o.at("name")}, {"data_type", type_of(o.at("datatype").get<std::string>())}, {"dims", o.at("shape")}});
  const auto& b = options_.batching;
  return {{"name", options_.model_name},
          {"platform", "seqrec"},
          {"backend", "seqrec"},
          {"max_batch_size", 0},
          {"input", input},
          {"output", output},
          {"dynamic_batching",
           {{"max_queue_delay_microseconds", b.max_queue_delay_us}, {"preferred_batch_size", {b.max_batch_sessions}}}},
          {"instance_group", {{{"count", b.workers}, {"kind", predictor_->device().is_cuda() ? "KIND_GPU" : "KIND_CPU"}}}},
          {"parameters",
           {{"top_k", {{"default", options_.default_top_k}, {"max", options_.max_top_k}}},
            {"exclude_seen", {{"default", false}}},
            {"max_events_per_request", options_.max_events_per_request},
            {"request_timeout_ms", options_.request_timeout_ms}}},
          {"model", predictor_->model_config().to_json()},
          {"workflow", predictor_->workflow().options().to_json()},
          {"bundle",
           {{"created", manifest_.created}, {"data_fingerprint", manifest_.data_fingerprint},
            {"format_version", manifest_.format_version}}}};
}

etl::Frame ModelService::raw_frame_from_inputs(const std::vector<InferTensor>& inputs) const {
  const auto& workflow = predictor_->workflow();
  const etl::InputSpec request = predictor_->request_input();
  // Each tensor is one raw input column, under the workflow's name or its Merlin alias (session_id, ...).
  std::vector<std::pair<std::string, std::vector<std::string>>> columns;
  std::unordered_map<std::string, std::string> given_as;  // input column -> the tensor that gave it
  int64_t rows = -1;
  std::string first_name;
  for (const auto& t : inputs) {
    const etl::InputColumn* column = nullptr;
    for (const auto& c : request.columns)
      if (c.name == t.name || std::find(c.aliases.begin(), c.aliases.end(), t.name) != c.aliases.end()) column = &c;
    if (column == nullptr) {
      std::string known;
      for (const auto& [name, type] : input_columns()) known += (known.empty() ? "" : ", ") + name;
      throw ServeError(400, "unknown input '" + t.name + "'; this model takes " + known);
    }
    if (given_as.count(column->name)) throw ServeError(400, "input '" + t.name + "' is given twice (or under two names)");
    given_as[column->name] = t.name;
    const bool one_column = t.shape.size() == 1 || (t.shape.size() == 2 && t.shape[1] == 1);
    if (!one_column)
      throw ServeError(400, "input '" + t.name + "' must be one 1-D tensor with one row per event, got shape of rank " +
                                std::to_string(t.shape.size()));
    check_tensor_shape(t);
    if (rows < 0) {
      rows = t.shape[0];
      first_name = t.name;
    } else if (t.shape[0] != rows) {
      throw ServeError(400, "ragged inputs: '" + t.name + "' has " + std::to_string(t.shape[0]) + " rows but '" + first_name +
                                "' has " + std::to_string(rows) + "; give every column one row per event");
    }
    if (tensor_kind(t.datatype, t.name) == TensorKind::kFloat && column->dtype != etl::DType::kFloat64)
      throw ServeError(400, "input '" + t.name + "' has datatype " + t.datatype + "; " +
                                (column->dtype == etl::DType::kTimestamp ? "send timestamps as INT64 or BYTES"
                                                                         : "ids must be BYTES or integers"));
    columns.emplace_back(column->name, as_text(t));
  }
  if (rows == 0 || rows < 0) throw ServeError(400, "the request holds no events");
  if (rows > options_.max_events_per_request)
    throw ServeError(400, "the request is too large: " + std::to_string(rows) + " events, the limit is " +
                              std::to_string(options_.max_events_per_request));
  const auto& roles = workflow.options().columns;
  for (const auto& c : request.columns) {
    if (given_as.count(c.name) || !c.required) continue;
    // Without a click-order column the events' order in the request is their order; without a timestamp they
    // are at time 0, in that order.
    if (c.name == roles.order || (c.name == roles.timestamp && c.dtype == etl::DType::kTimestamp)) {
      std::vector<std::string> values(rows, c.format == etl::TimestampFormat::kIso8601 ? "1970-01-01T00:00:00Z" : "0");
      if (c.name == roles.order)
        for (int64_t i = 0; i < rows; ++i) values[i] = std::to_string(i + 1);
      columns.emplace_back(c.name, std::move(values));
      continue;
    }
    std::string names = "'" + c.name + "'";
    for (const auto& a : c.aliases) names += " or '" + a + "'";
    throw ServeError(400, "input " + names + " is required (one row per event)");
  }
  // From here the request takes the ETL's road: the same text parsing, then the fitted steps.
  try {
    return workflow.raw_frame(columns);
  } catch (const InvalidInput& e) {
    throw ServeError(400, e.what());
  }
}

InferResponse ModelService::infer(const InferRequest& request) {
  const auto started = Clock::now();
  require_model(request.model_name, request.model_version);
  if (!ready_) throw ServeError(503, "the server is shutting down; retry on another instance");
  PredictOptions options;
  options.top_k = int_parameter(request.parameters, "top_k", options_.default_top_k);
  options.exclude_seen = bool_parameter(request.parameters, "exclude_seen", false);
  if (options.top_k < 1 || options.top_k > options_.max_top_k)
    throw ServeError(400, "parameter 'top_k' must be between 1 and " + std::to_string(options_.max_top_k) + ", got " +
                              std::to_string(options.top_k));
  // Every output by default (Triton's rule), else the ones the request names.
  const auto names = output_names();
  std::unordered_map<std::string, bool> wanted;  // output -> binary_output
  for (const auto& o : request.outputs) {
    if (std::find(names.begin(), names.end(), o.name) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw ServeError(400, "unknown output '" + o.name + "'; this model returns " + known);
    }
    wanted[o.name] = o.binary_output;
  }
  if (request.outputs.empty())
    for (const auto& n : names) wanted[n] = false;
  const auto& tasks = predictor_->model_config().tasks;
  for (size_t t = 0; t < tasks.size(); ++t) options.task_outputs = options.task_outputs || wanted.count(names[3 + t]) > 0;

  etl::SessionTable sessions;
  try {
    sessions = predictor_->workflow().transform_frame(raw_frame_from_inputs(request.inputs));
  } catch (const InvalidInput& e) {  // a value the fitted steps refuse (a month 13): the caller's to fix
    throw ServeError(400, e.what());
  }
  const int64_t input_us = micros_since(started);
  const auto deadline = started + std::chrono::milliseconds(options_.request_timeout_ms);
  auto result = batcher_.run(std::move(sessions), options, deadline);

  const auto output_start = Clock::now();
  const auto& recs = result.recommendations;
  // A rectangular [S, k]: k is the shortest row, which is top_k unless exclusions exhausted a tiny catalogue.
  int64_t k = options.top_k;
  for (const auto& r : recs) k = std::min<int64_t>(k, static_cast<int64_t>(r.items.size()));
  const int64_t s = static_cast<int64_t>(recs.size());
  std::vector<InferTensor> all{{kOutputSessionId, "BYTES", {s}}, {kOutputItemIds, "BYTES", {s, k}}, {kOutputScores, "FP32", {s, k}}};
  for (size_t t = 0; t < tasks.size(); ++t) all.push_back({names[3 + t], "FP32", {s}});
  for (const auto& r : recs) {
    all[0].bytes.push_back(r.session_id);
    all[1].bytes.insert(all[1].bytes.end(), r.items.begin(), r.items.begin() + k);
    all[2].floats.insert(all[2].floats.end(), r.scores.begin(), r.scores.begin() + k);
    for (size_t t = 0; t < r.task_outputs.size() && t < tasks.size(); ++t) all[3 + t].floats.push_back(r.task_outputs[t].second);
  }
  InferResponse response{options_.model_name, options_.model_version, request.id, {}};
  for (auto& tensor : all) {
    auto it = wanted.find(tensor.name);
    if (it == wanted.end()) continue;
    tensor.binary_output = it->second;
    response.outputs.push_back(std::move(tensor));
  }
  metrics_.record_request_phases(result.queue_us, input_us, micros_since(output_start));
  return response;
}

void ModelService::record_request(bool success, Clock::time_point started) { metrics_.record_request(success, micros_since(started)); }

}  // namespace seqrec::serve
