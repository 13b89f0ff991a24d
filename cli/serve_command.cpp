#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/runtime.h"
#include "seqrec/export/bundle.h"
#include "seqrec/serve/grpc_server.h"
#include "seqrec/serve/http_server.h"
#include "seqrec/serve/model_service.h"

namespace seqrec::cli {

namespace {
struct ServeFlags {
  std::string bundle, host = "127.0.0.1", model_name;
  int http_port = 8000, grpc_port = 8001, metrics_port = 8002, http_threads = 64;
  int64_t max_request_bytes = 64 << 20, max_events = 100000, request_timeout_ms = 10000, top_k = 10, max_top_k = 1000;
  int read_timeout_s = 5;
  serve::BatcherOptions batching;
  RuntimeFlags runtime;
};

void add_serve_flags(CLI::App& cmd, ServeFlags& f) {
  cmd.add_option("--bundle,-b", f.bundle, "bundle folder written by seqrec export")->required();
  cmd.add_option("--host", f.host, "address to listen on (0.0.0.0 for every interface)")->capture_default_str()->group("Network");
  cmd.add_option("--http-port", f.http_port, "KServe v2 HTTP/REST port (0 = any free port)")->capture_default_str()->group("Network");
  cmd.add_option("--grpc-port", f.grpc_port, "KServe v2 gRPC port (-1 = off)")->capture_default_str()->group("Network");
  cmd.add_option("--metrics-port", f.metrics_port, "Prometheus /metrics port (-1 = off)")->capture_default_str()->group("Network");
  cmd.add_option("--http-threads", f.http_threads, "HTTP connection threads")->capture_default_str()->group("Network");
  cmd.add_option("--model-name", f.model_name, "name in /v2/models/{name} (default: the bundle's)")->group("Model");
  cmd.add_option("--top-k", f.top_k, "recommendations when a request gives no top_k")->capture_default_str()->group("Model");
  cmd.add_option("--max-top-k", f.max_top_k, "largest top_k a request may ask for")->capture_default_str()->group("Limits");
  cmd.add_option("--max-request-bytes", f.max_request_bytes, "largest request body")->capture_default_str()->group("Limits");
  cmd.add_option("--max-events", f.max_events, "most events (rows) in one request")->capture_default_str()->group("Limits");
  cmd.add_option("--request-timeout-ms", f.request_timeout_ms, "a request not started by then gets 503")
      ->capture_default_str()->group("Limits");
  cmd.add_option("--read-timeout-s", f.read_timeout_s, "drop a client stalled this long mid-request")
      ->capture_default_str()->group("Limits");
  cmd.add_option("--max-batch", f.batching.max_batch_sessions, "sessions per model execution (dynamic batching)")
      ->capture_default_str()->group("Batching");
  cmd.add_option("--max-queue-delay-us", f.batching.max_queue_delay_us, "how long a request waits for others to batch with")
      ->capture_default_str()->group("Batching");
  cmd.add_option("--workers", f.batching.workers, "threads running model executions")->capture_default_str()->group("Batching");
  cmd.add_option("--max-queue", f.batching.max_queued_requests, "queued requests beyond which new ones get 503")
      ->capture_default_str()->group("Batching");
  f.runtime.add_to(cmd);
}

serve::ServiceOptions service_options(const ServeFlags& f) {
  serve::ServiceOptions options;
  options.model_name = f.model_name;
  options.batching = f.batching;
  options.max_events_per_request = f.max_events;
  options.default_top_k = f.top_k;
  options.max_top_k = f.max_top_k;
  options.request_timeout_ms = f.request_timeout_ms;
  return options;
}

serve::HttpServerOptions http_options(const ServeFlags& f) {
  serve::HttpServerOptions http;
  http.host = f.host;
  http.port = f.http_port;
  http.metrics_port = f.metrics_port;
  http.threads = f.http_threads;
  http.max_request_bytes = f.max_request_bytes;
  http.read_timeout_s = f.read_timeout_s;
  return http;
}

/// Serves until SIGTERM or SIGINT, then stops gracefully.
void run_serve(const ServeFlags& f) {
  // SIGTERM and SIGINT are taken by sigwait below, so every thread started from here must have them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  set_threads(f.runtime.threads);
  const auto device = parse_device(f.runtime.device);
  auto manifest = artifacts::verify_bundle(f.bundle);
  auto predictor = std::make_shared<const serve::Predictor>(serve::Predictor::load_bundle(f.bundle, device));
  serve::ModelService service(predictor, service_options(f), manifest);

  serve::HttpServer http_server(service, http_options(f));
  http_server.start();
  serve::GrpcServerOptions grpc;
  grpc.host = f.host;
  grpc.port = f.grpc_port;
  grpc.max_request_bytes = f.max_request_bytes;
  serve::GrpcServer grpc_server(service, grpc);
  if (f.grpc_port >= 0) grpc_server.start();
  std::fprintf(stderr, "[serve] model '%s' (%lld items) on http://%s:%d", service.model_name().c_str(),
               static_cast<long long>(predictor->workflow().items().size()), f.host.c_str(), http_server.port());
  if (f.grpc_port >= 0) std::fprintf(stderr, ", grpc %s:%d", f.host.c_str(), grpc_server.port());
  if (http_server.metrics_port() > 0) std::fprintf(stderr, ", metrics http://%s:%d/metrics", f.host.c_str(), http_server.metrics_port());
  std::fprintf(stderr, "\n");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  // Graceful: report not ready, stop accepting, let requests in flight finish, then drain the batcher.
  std::fprintf(stderr, "[serve] %s: finishing requests in flight\n", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  grpc_server.stop();
  http_server.stop();
  service.shutdown();
  std::fprintf(stderr, "[serve] stopped after %lld requests (%lld failed)\n",
               static_cast<long long>(service.metrics().successes() + service.metrics().failures()),
               static_cast<long long>(service.metrics().failures()));
}
}  // namespace

void add_serve_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "serve a bundle over KServe v2 / Triton's protocol (HTTP, gRPC), metrics for Prometheus");
  auto f = std::make_shared<ServeFlags>();
  f->runtime.threads = 1;  // one intra-op thread per worker: requests run side by side instead
  add_serve_flags(*cmd, *f);
  cmd->callback([f] { run_serve(*f); });
}

}  // namespace seqrec::cli
