// Built instead of grpc_server.cpp when SEQREC_BUILD_GRPC is OFF, so callers need no #ifdef.
#include "seqrec/common/error.h"
#include "seqrec/serve/grpc_server.h"

namespace seqrec::serve {

struct GrpcServer::Impl {};

GrpcServer::GrpcServer(ModelService&, GrpcServerOptions) {}
GrpcServer::~GrpcServer() = default;
bool GrpcServer::available() { return false; }
void GrpcServer::start() {
  throw InvalidInput("this seqrec was built without gRPC (SEQREC_BUILD_GRPC=OFF); install libgrpc++-dev and "
                     "protobuf-compiler-grpc and rebuild, or serve HTTP only with --grpc-port -1");
}
void GrpcServer::stop() {}
int GrpcServer::port() const { return -1; }

}  // namespace seqrec::serve
