#include "seqrec/serve/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "grpc_service.grpc.pb.h"
#include "seqrec/common/error.h"

namespace seqrec::serve {

namespace {

using Clock = std::chrono::steady_clock;

grpc::Status to_status(int http_status, const std::string& message) {
  switch (http_status) {
    case 400: return {grpc::StatusCode::INVALID_ARGUMENT, message};
    case 404: return {grpc::StatusCode::NOT_FOUND, message};
    case 503: return {grpc::StatusCode::UNAVAILABLE, message};
    default: return {grpc::StatusCode::INTERNAL, message};
  }
}

template <typename F>
grpc::Status guarded(F&& f) {
  try {
    f();
    return grpc::Status::OK;
  } catch (const ServeError& e) {
    return to_status(e.status(), e.what());
  } catch (const InvalidInput& e) {
    return to_status(400, e.what());
  } catch (const std::exception& e) {
    return to_status(500, std::string("internal error: ") + e.what());
  }
}

nlohmann::json to_json(const google::protobuf::Map<std::string, inference::InferParameter>& parameters) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, p] : parameters) {
    switch (p.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam: j[key] = p.bool_param(); break;
      case inference::InferParameter::kInt64Param: j[key] = p.int64_param(); break;
      case inference::InferParameter::kStringParam: j[key] = p.string_param(); break;
      case inference::InferParameter::kDoubleParam: j[key] = p.double_param(); break;
      case inference::InferParameter::kUint64Param: j[key] = p.uint64_param(); break;
      default: break;
    }
  }
  return j;
}

template <typename Repeated, typename Out>
void copy_contents(const Repeated& from, std::vector<Out>& to) {
  to.assign(from.begin(), from.end());
}

void fill_from_contents(const inference::InferTensorContents& c, InferTensor& t) {
  const std::string& d = t.datatype;
  if (d == "BYTES") copy_contents(c.bytes_contents(), t.bytes);
  else if (d == "BOOL") copy_contents(c.bool_contents(), t.ints);
  else if (d == "INT8" || d == "INT16" || d == "INT32") copy_contents(c.int_contents(), t.ints);
  else if (d == "INT64") copy_contents(c.int64_contents(), t.ints);
  else if (d == "UINT8" || d == "UINT16" || d == "UINT32") copy_contents(c.uint_contents(), t.ints);
  else if (d == "UINT64") {
    for (uint64_t v : c.uint64_contents()) {
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw ServeError(400, "input '" + t.name + "': UINT64 value above 2^63-1");
      t.ints.push_back(static_cast<int64_t>(v));
    }
  } else if (d == "FP32") copy_contents(c.fp32_contents(), t.floats);
  else if (d == "FP64") copy_contents(c.fp64_contents(), t.floats);
}

InferRequest from_proto(const inference::ModelInferRequest& r) {
  InferRequest request;
  request.model_name = r.model_name();
  request.model_version = r.model_version();
  request.id = r.id();
  request.parameters = to_json(r.parameters());
  const bool raw = r.raw_input_contents_size() > 0;
  if (raw && r.raw_input_contents_size() != r.inputs_size())
    throw ServeError(400, "raw_input_contents has " + std::to_string(r.raw_input_contents_size()) + " entries for " +
                              std::to_string(r.inputs_size()) + " inputs; give one per input");
  for (int i = 0; i < r.inputs_size(); ++i) {
    const auto& in = r.inputs(i);
    InferTensor t;
    t.name = in.name();
    t.datatype = in.datatype();
    t.shape.assign(in.shape().begin(), in.shape().end());
    if (t.shape.size() > 8) throw ServeError(400, "input '" + t.name + "': shape has more than 8 dimensions");
    tensor_kind(t.datatype, t.name);
    if (raw)
      decode_raw_tensor(r.raw_input_contents(i), t);
    else
      fill_from_contents(in.contents(), t);
    check_tensor_shape(t);
    request.inputs.push_back(std::move(t));
  }
  for (const auto& out : r.outputs()) {
    InferTensor t;
    t.name = out.name();
    request.outputs.push_back(std::move(t));
  }
  return request;
}

class Service final : public inference::GRPCInferenceService::Service {
 public:
  explicit Service(ModelService& service) : service_(service) {}

  grpc::Status ServerLive(grpc::ServerContext*, const inference::ServerLiveRequest*, inference::ServerLiveResponse* out) override {
    out->set_live(service_.live());
    return grpc::Status::OK;
  }
  grpc::Status ServerReady(grpc::ServerContext*, const inference::ServerReadyRequest*,
                           inference::ServerReadyResponse* out) override {
    out->set_ready(service_.ready());
    return grpc::Status::OK;
  }
  grpc::Status ModelReady(grpc::ServerContext*, const inference::ModelReadyRequest* in,
                          inference::ModelReadyResponse* out) override {
    return guarded([&] {
      service_.require_model(in->name(), in->version());
      out->set_ready(service_.ready());
    });
  }
  grpc::Status ServerMetadata(grpc::ServerContext*, const inference::ServerMetadataRequest*,
                              inference::ServerMetadataResponse* out) override {
    const auto j = service_.server_metadata();
    out->set_name(j.at("name").get<std::string>());
    out->set_version(j.at("version").get<std::string>());
    for (const auto& e : j.at("extensions")) out->add_extensions(e.get<std::string>());
    return grpc::Status::OK;
  }
  grpc::Status ModelMetadata(grpc::ServerContext*, const inference::ModelMetadataRequest* in,
                             inference::ModelMetadataResponse* out) override {
    return guarded([&] {
      service_.require_model(in->name(), in->version());
      const auto j = service_.model_metadata();
      out->set_name(j.at("name").get<std::string>());
      for (const auto& v : j.at("versions")) out->add_versions(v.get<std::string>());
      out->set_platform(j.at("platform").get<std::string>());
      auto fill = [](const nlohmann::json& from, inference::ModelMetadataResponse::TensorMetadata* to) {
        to->set_name(from.at("name").get<std::string>());
        to->set_datatype(from.at("datatype").get<std::string>());
        for (const auto& d : from.at("shape")) to->add_shape(d.get<int64_t>());
      };
      for (const auto& t : j.at("inputs")) fill(t, out->add_inputs());
      for (const auto& t : j.at("outputs")) fill(t, out->add_outputs());
    });
  }
  grpc::Status ModelInfer(grpc::ServerContext*, const inference::ModelInferRequest* in,
                          inference::ModelInferResponse* out) override {
    const auto started = Clock::now();
    bool counted = false;
    auto status = guarded([&] {
      service_.require_model(in->model_name(), in->model_version());
      counted = true;
      auto response = service_.infer(from_proto(*in));
      out->set_model_name(response.model_name);
      out->set_model_version(response.model_version);
      out->set_id(response.id);
      for (const auto& t : response.outputs) {
        auto* o = out->add_outputs();
        o->set_name(t.name);
        o->set_datatype(t.datatype);
        for (int64_t d : t.shape) o->add_shape(d);
        out->add_raw_output_contents(encode_raw_tensor(t));
      }
    });
    if (counted) service_.record_request(status.ok(), started);
    return status;
  }

 private:
  ModelService& service_;
};

}  // namespace

struct GrpcServer::Impl {
  ModelService& service;
  GrpcServerOptions options;
  std::unique_ptr<Service> handler;
  std::unique_ptr<grpc::Server> server;
  int port = -1;
};

GrpcServer::GrpcServer(ModelService& service, GrpcServerOptions options)
    : impl_(new Impl{service, std::move(options), nullptr, nullptr, -1}) {}

GrpcServer::~GrpcServer() { stop(); }

bool GrpcServer::available() { return true; }

void GrpcServer::start() {
  SEQREC_ASSERT(!impl_->server, "GrpcServer::start called twice");
  impl_->handler = std::make_unique<Service>(impl_->service);
  grpc::ServerBuilder builder;
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not shared
  int selected = 0;
  const std::string address = impl_->options.host + ":" + std::to_string(impl_->options.port);
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(impl_->options.max_request_bytes, INT32_MAX)));
  builder.RegisterService(impl_->handler.get());
  impl_->server = builder.BuildAndStart();
  SEQREC_CHECK(impl_->server && selected > 0, "cannot listen for gRPC on ", address,
               ": the port is in use or the address is not local; pick another with --grpc-port");
  impl_->port = selected;
}

void GrpcServer::stop() {
  if (!impl_->server) return;
  // Calls in flight get up to 10 s to finish; new ones are refused at once.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  impl_->server->Wait();
  impl_->server.reset();
}

int GrpcServer::port() const { return impl_->port; }

}  // namespace seqrec::serve
