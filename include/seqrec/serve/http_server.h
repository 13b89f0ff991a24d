#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "seqrec/serve/model_service.h"

namespace seqrec::serve {

/// Where and how the HTTP front end listens.
struct HttpServerOptions {
  std::string host = "127.0.0.1";  ///< "0.0.0.0" to accept other machines
  int port = 8000;                 ///< 0 = any free port (see HttpServer::port())
  int metrics_port = 8002;         ///< Prometheus /metrics on its own port; 0 = any free port, -1 = off
  int threads = 64;                ///< connection threads; a keep-alive client holds one while connected
  int64_t max_request_bytes = 64 << 20;  ///< larger bodies get 400 before they are read
  int read_timeout_s = 5;          ///< a client that stalls longer mid-request is dropped
  int write_timeout_s = 5;
  int keep_alive_timeout_s = 5;
};

/// KServe v2 over HTTP/REST as Triton serves it: /v2/health/{live,ready}, /v2, /v2/models/{m}[/versions/{v}],
/// .../ready, .../config, POST .../infer (JSON and the binary tensor extension); errors as {"error": "..."}.
/// A thin transport: every answer comes from the ModelService.
class HttpServer {
 public:
  HttpServer(ModelService& service, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds both ports and serves on background threads; throws InvalidInput when a port cannot be bound.
  void start();
  /// Stops accepting, lets in-flight requests finish, joins the threads. Idempotent.
  void stop();
  int port() const;
  int metrics_port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seqrec::serve
