// Serving benchmark: `make-bundle` writes a bundle with an N-item vocabulary and an untrained model (serving
// speed does not depend on what the weights learned); `load` is a closed-loop load generator over loopback
// HTTP (KServe v2 JSON or binary), bounded in time and request count, printing requests/s, sessions/s and
// latency percentiles.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>
#include <thread>

#include "seqrec/common/runtime.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/sequence_model.h"
#include "seqrec/serve/predictor.h"
#include "seqrec/model/session_model.h"
#include "seqrec/export/bundle.h"
#include "seqrec/serve/tensor.h"
#include "seqrec/export/checkpoint.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct BundleFlags {
  std::string out;
  int64_t items = 50000, d_model = 64, layers = 2, heads = 2, max_length = 20;
};

std::string item_id(int64_t i) { return std::to_string(100000 + i); }

void make_bundle(const BundleFlags& f) {
  namespace fs = std::filesystem;
  const fs::path data = fs::path(f.out).string() + ".data";
  // Every item in some training session, so the vocabulary holds exactly f.items values.
  std::vector<seqrec::etl::Event> events;
  for (int64_t start = 0; start < f.items; start += f.max_length)
    for (int64_t i = start; i < std::min(f.items, start + f.max_length); ++i)
      events.push_back({"s" + std::to_string(start), item_id(i), 1700000000000 + i, i - start});
  seqrec::etl::WorkflowOptions options;
  options.max_length = f.max_length;
  auto workflow = seqrec::etl::Workflow::from_options(options);
  workflow.fit_frame(workflow.events_frame(events));
  fs::create_directories(data);
  workflow.save(data / "workflow", json::object());
  auto schema = workflow.output_schema(f.max_length);
  schema.save(data / "schema.json");
  seqrec::artifacts::CheckpointMeta meta;
  meta.model.num_items = workflow.items().cardinality();
  meta.model.d_model = f.d_model;
  meta.model.num_layers = f.layers;
  meta.model.num_heads = f.heads;
  meta.model.max_length = f.max_length;
  meta.schema_fingerprint = schema.fingerprint();
  auto model = seqrec::model::make_model(meta.model);
  seqrec::artifacts::save_checkpoint(data / "checkpoint.pt", *model, meta);
  seqrec::artifacts::ExportOptions export_options;
  export_options.model_name = "bench";
  seqrec::artifacts::export_bundle(data, data / "checkpoint.pt", f.out, export_options);
  std::fprintf(stderr, "[bench] bundle %s: %lld items, d_model %lld, %lld layers\n", f.out.c_str(),
               static_cast<long long>(workflow.items().size()), static_cast<long long>(f.d_model),
               static_cast<long long>(f.layers));
}

struct LoadFlags {
  std::string host = "127.0.0.1", model = "bench";
  int port = 8000, concurrency = 1, sessions_per_request = 1, events_per_session = 20, top_k = 10;
  int64_t items = 50000, max_requests = 20000;
  double duration_s = 5, warmup_s = 0.5;
  bool binary = false;
};

// One request body (and header length for binary) with fresh random sessions.
std::pair<std::string, size_t> make_body(const LoadFlags& f, std::mt19937_64& rng, int64_t& next_session) {
  std::uniform_int_distribution<int64_t> item(0, f.items - 1);
  seqrec::serve::InferTensor s{"session_id", "BYTES", {}}, i{"item_id", "BYTES", {}}, t{"timestamp", "INT64", {}};
  for (int k = 0; k < f.sessions_per_request; ++k) {
    const std::string id = "b" + std::to_string(next_session++);
    for (int e = 0; e < f.events_per_session; ++e) {
      s.bytes.push_back(id);
      i.bytes.push_back(item_id(item(rng)));
      t.ints.push_back(1700000000 + e);
    }
  }
  const int64_t n = static_cast<int64_t>(s.bytes.size());
  s.shape = i.shape = t.shape = {n};
  json parameters = {{"top_k", f.top_k}};
  if (!f.binary) {
    json body = {{"inputs",
                  {{{"name", "session_id"}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", s.bytes}},
                   {{"name", "item_id"}, {"datatype", "BYTES"}, {"shape", {n}}, {"data", i.bytes}},
                   {{"name", "timestamp"}, {"datatype", "INT64"}, {"shape", {n}}, {"data", t.ints}}}},
                 {"parameters", parameters}};
    return {body.dump(), 0};
  }
  std::string raw;
  json inputs = json::array();
  for (const auto* tensor : {&s, &i, &t}) {
    std::string r = seqrec::serve::encode_raw_tensor(*tensor);
    inputs.push_back({{"name", tensor->name}, {"datatype", tensor->datatype}, {"shape", {n}},
                      {"parameters", {{"binary_data_size", r.size()}}}});
    raw += r;
  }
  parameters["binary_data_output"] = true;
  std::string header = json{{"inputs", inputs}, {"parameters", parameters}}.dump();
  return {header + raw, header.size()};
}

int run_load(const LoadFlags& f) {
  // Bodies are made before the clock starts so the generator measures the server, not itself.
  constexpr int kBodiesPerClient = 64;
  std::vector<std::vector<std::pair<std::string, size_t>>> bodies(f.concurrency);
  int64_t next_session = 0;
  std::mt19937_64 rng(7);
  for (auto& b : bodies)
    for (int k = 0; k < kBodiesPerClient; ++k) b.push_back(make_body(f, rng, next_session));

  std::atomic<int64_t> issued{0}, errors{0};
  std::atomic<bool> measuring{false}, done{false};
  std::vector<std::vector<double>> latencies(f.concurrency);
  std::string first_error;
  std::mutex error_mutex;
  std::vector<std::thread> clients;
  const std::string path = "/v2/models/" + f.model + "/infer";
  for (int c = 0; c < f.concurrency; ++c)
    clients.emplace_back([&, c] {
      httplib::Client client(f.host, f.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30, 0);
      for (int64_t k = 0; !done; ++k) {
        const auto& [body, header_length] = bodies[c][k % kBodiesPerClient];
        httplib::Headers headers;
        if (header_length) headers.emplace("Inference-Header-Content-Length", std::to_string(header_length));
        const bool counted = measuring;
        if (counted && issued.fetch_add(1) >= f.max_requests) break;
        const auto start = Clock::now();
        auto res = client.Post(path, headers, body, header_length ? "application/octet-stream" : "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        if (!res || res->status != 200) {
          errors += 1;
          std::lock_guard<std::mutex> lock(error_mutex);
          if (first_error.empty()) first_error = res ? std::to_string(res->status) + " " + res->body.substr(0, 200) : "no response";
          continue;
        }
        if (counted) latencies[c].push_back(ms);
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(f.warmup_s));
  measuring = true;
  const auto start = Clock::now();
  while (Clock::now() - start < std::chrono::duration<double>(f.duration_s) && issued < f.max_requests)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  done = true;
  for (auto& t : clients) t.join();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  const double rps = all.size() / elapsed;
  std::printf("concurrency %3d  sessions/request %3d  %s  requests %7zu  errors %lld  requests/s %8.1f  sessions/s %9.1f  "
              "p50 %6.2f ms  p99 %6.2f ms  max %7.2f ms\n",
              f.concurrency, f.sessions_per_request, f.binary ? "binary" : "json  ", all.size(),
              static_cast<long long>(errors.load()), rps, rps * f.sessions_per_request, pct(0.50), pct(0.99),
              all.empty() ? 0.0 : all.back());
  if (!first_error.empty()) std::fprintf(stderr, "[bench] first error: %s\n", first_error.c_str());
  return errors > 0 ? 1 : 0;
}

struct InProcessFlags {
  std::string bundle;
  int batch = 1, threads = 1, reps = 300, events_per_session = 20, top_k = 10;
  int64_t items = 50000;
  bool predict_only = false;  ///< skip the model-only and full-scores timings (for profiling predict alone)
};

// The predictor without HTTP: where a request's time goes once it is decoded (sessionizing, model, top-k).
int run_in_process(const InProcessFlags& f) {
  seqrec::set_threads(f.threads);
  auto predictor = seqrec::serve::Predictor::load_bundle(f.bundle, c10::Device(c10::kCPU));
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> item(0, f.items - 1);
  auto events_of = [&](int rep) {
    std::vector<seqrec::etl::Event> events;
    for (int k = 0; k < f.batch; ++k)
      for (int e = 0; e < f.events_per_session; ++e)
        events.push_back({"s" + std::to_string(rep) + "_" + std::to_string(k), item_id(item(rng)), 1700000000000 + e});
    return events;
  };
  std::vector<double> total, model_only, full_scores, body;
  for (int rep = 0; rep < f.reps + 20; ++rep) {
    auto events = events_of(rep);
    auto start = Clock::now();
    auto sessions = predictor.workflow().transform_events(events);
    auto recommendations = predictor.predict(sessions, f.top_k);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (f.predict_only) {
      if (rep >= 20) total.push_back(ms);
      continue;
    }
    std::vector<int64_t> rows(sessions.size());
    std::iota(rows.begin(), rows.end(), 0);
    auto batch = seqrec::model::make_prefix_batch(sessions, rows, predictor.model_config().max_length, false, c10::Device(c10::kCPU));
    torch::NoGradGuard no_grad;
    auto& model = predictor.model();
    start = Clock::now();
    model.next_item_top_k(batch.items, batch.lengths, f.top_k);
    const double top_k_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    start = Clock::now();
    model.next_item_scores(batch.items, batch.lengths).topk(f.top_k, 1);
    const double scores_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (auto* sequence = dynamic_cast<seqrec::model::SequenceModelImpl*>(&model)) {
      start = Clock::now();
      sequence->next_item_hidden(batch);
      body.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    if (rep < 20) continue;  // warm-up
    total.push_back(ms);
    model_only.push_back(top_k_ms);
    full_scores.push_back(scores_ms);
  }
  auto p = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  };
  std::printf("in-process  sessions/call %3d  threads %d  predict (events in): p50 %6.3f ms  p99 %6.3f ms  |  "
              "body %6.3f ms + fused top-%d: p50 %6.3f ms  |  + full scores and topk: p50 %6.3f ms  |  sessions/s %8.0f\n",
              f.batch, f.threads, p(total, 0.5), p(total, 0.99), body.empty() ? 0.0 : p(body, 0.5), f.top_k, model_only.empty() ? 0.0 : p(model_only, 0.5),
              full_scores.empty() ? 0.0 : p(full_scores, 0.5),
              f.batch * 1e3 / p(total, 0.5));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seqrec serving benchmark"};
  app.require_subcommand(1);
  BundleFlags bundle;
  auto* make = app.add_subcommand("make-bundle", "write a bundle with an N-item vocabulary and an untrained model");
  make->add_option("--out", bundle.out, "bundle folder")->required();
  make->add_option("--items", bundle.items)->capture_default_str();
  make->add_option("--d-model", bundle.d_model)->capture_default_str();
  make->add_option("--layers", bundle.layers)->capture_default_str();
  InProcessFlags in_process;
  auto* local = app.add_subcommand("in-process", "predictor latency without HTTP, from raw events");
  local->add_option("--bundle", in_process.bundle, "bundle folder")->required();
  local->add_option("--batch", in_process.batch, "sessions per call")->capture_default_str();
  local->add_option("--threads", in_process.threads, "intra-op threads")->capture_default_str();
  local->add_option("--reps", in_process.reps)->capture_default_str();
  local->add_option("--items", in_process.items, "raw ids drawn from the make-bundle vocabulary")->capture_default_str();
  local->add_flag("--predict-only", in_process.predict_only, "time predict alone (for profiling)");
  LoadFlags load;
  auto* gen = app.add_subcommand("load", "closed-loop HTTP load against a running seqrec serve (loopback)");
  gen->add_option("--host", load.host)->capture_default_str();
  gen->add_option("--port", load.port)->capture_default_str();
  gen->add_option("--model", load.model)->capture_default_str();
  gen->add_option("--concurrency,-c", load.concurrency)->capture_default_str();
  gen->add_option("--sessions-per-request", load.sessions_per_request)->capture_default_str();
  gen->add_option("--events-per-session", load.events_per_session)->capture_default_str();
  gen->add_option("--items", load.items, "raw ids drawn from the make-bundle vocabulary")->capture_default_str();
  gen->add_option("--top-k", load.top_k)->capture_default_str();
  gen->add_option("--duration-s", load.duration_s, "measured time")->capture_default_str();
  gen->add_option("--warmup-s", load.warmup_s)->capture_default_str();
  gen->add_option("--max-requests", load.max_requests, "stop after this many measured requests")->capture_default_str();
  gen->add_flag("--binary", load.binary, "binary tensor extension instead of JSON");
  CLI11_PARSE(app, argc, argv);
  try {
    if (*make) make_bundle(bundle);
    if (*local) return run_in_process(in_process);
    if (*gen) {
      if (load.host != "127.0.0.1" && load.host != "localhost") throw std::invalid_argument("--host must be loopback");
      return run_load(load);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
