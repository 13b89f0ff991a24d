#pragma once
#include <memory>
#include <string>

#include "seqrec/serve/model_service.h"

namespace seqrec::serve {

struct GrpcServerOptions {
  std::string host = "127.0.0.1";
  int port = 8001;                       ///< 0 = any free port (see GrpcServer::port())
  int64_t max_request_bytes = 64 << 20;  ///< larger messages are refused by gRPC (RESOURCE_EXHAUSTED)
};

/// Triton's `inference.GRPCInferenceService` (ServerLive, ServerReady, ModelReady, ServerMetadata,
/// ModelMetadata, ModelInfer) over the same ModelService as HTTP. Inputs come as typed contents or
/// raw_input_contents; outputs go back as raw_output_contents, as Triton sends them.
class GrpcServer {
 public:
  GrpcServer(ModelService& service, GrpcServerOptions options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  /// Binds and serves on gRPC's threads; throws InvalidInput when the port cannot be bound, or when seqrec
  /// was built without gRPC (SEQREC_BUILD_GRPC=OFF).
  void start();
  /// Finishes in-flight calls (up to a grace period), refuses new ones. Idempotent.
  void stop();
  int port() const;

  /// False when seqrec was built without gRPC.
  static bool available();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seqrec::serve
