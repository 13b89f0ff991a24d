#include "seqrec/serve/grpc_server.h"

#include <grpcpp/grpcpp.h>

#include "grpc_service.grpc.pb.h"
#include "serve/serve_fixture.h"

namespace seqrec::serve::test {

class GrpcServerTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    predictor_ = load_predictor();
    service_ = std::make_unique<ModelService>(predictor_, ServiceOptions{}, manifest());
    GrpcServerOptions options;
    options.port = 0;
    server_ = std::make_unique<GrpcServer>(*service_, options);
    server_->start();
    stub_ = inference::GRPCInferenceService::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->stop();
    server_.reset();
    service_.reset();
    ServeTest::TearDown();
  }
  inference::ModelInferRequest typed_request(const std::vector<std::string>& sessions, const std::vector<std::string>& items,
                                             const std::vector<int64_t>& timestamps) const {
    inference::ModelInferRequest r;
    r.set_model_name("recs");
    auto add = [&](const char* name, const char* datatype, int64_t rows) {
      auto* in = r.add_inputs();
      in->set_name(name);
      in->set_datatype(datatype);
      in->add_shape(rows);
      return in->mutable_contents();
    };
    auto* s = add("session_id", "BYTES", sessions.size());
    for (const auto& v : sessions) s->add_bytes_contents(v);
    auto* i = add("item_id", "BYTES", items.size());
    for (const auto& v : items) i->add_bytes_contents(v);
    auto* t = add("timestamp", "INT64", timestamps.size());
    for (int64_t v : timestamps) t->add_int64_contents(v);
    return r;
  }
  grpc::Status infer(const inference::ModelInferRequest& request, inference::ModelInferResponse& response) {
    grpc::ClientContext context;
    return stub_->ModelInfer(&context, request, &response);
  }

  std::shared_ptr<const Predictor> predictor_;
  std::unique_ptr<ModelService> service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthAndMetadataRpcsAnswer) {
  {
    grpc::ClientContext context;
    inference::ServerLiveResponse response;
    ASSERT_TRUE(stub_->ServerLive(&context, {}, &response).ok());
    EXPECT_TRUE(response.live());
  }
  {
    grpc::ClientContext context;
    inference::ServerReadyResponse response;
    ASSERT_TRUE(stub_->ServerReady(&context, {}, &response).ok());
    EXPECT_TRUE(response.ready());
  }
  {
    grpc::ClientContext context;
    inference::ModelReadyRequest request;
    request.set_name("recs");
    inference::ModelReadyResponse response;
    ASSERT_TRUE(stub_->ModelReady(&context, request, &response).ok());
    EXPECT_TRUE(response.ready());
  }
  {
    grpc::ClientContext context;
    inference::ModelReadyRequest request;
    request.set_name("nope");
    inference::ModelReadyResponse response;
    EXPECT_EQ(stub_->ModelReady(&context, request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    inference::ServerMetadataResponse response;
    ASSERT_TRUE(stub_->ServerMetadata(&context, {}, &response).ok());
    EXPECT_EQ(response.name(), "seqrec");
  }
  {
    grpc::ClientContext context;
    inference::ModelMetadataRequest request;
    request.set_name("recs");
    inference::ModelMetadataResponse response;
    ASSERT_TRUE(stub_->ModelMetadata(&context, request, &response).ok());
    ASSERT_EQ(response.inputs_size(), 3);
    EXPECT_EQ(response.inputs(0).name(), "session_id");
    EXPECT_EQ(response.outputs(2).name(), "item_id_scores");
    EXPECT_EQ(response.outputs(2).datatype(), "FP32");
  }
}

TEST_F(GrpcServerTest, TypedAndRawInputsGiveThePredictorsAnswer) {
  auto items = popular_items(*predictor_, 3);
  auto typed = typed_request({"x", "y", "x"}, items, {100, 200, 300});
  (*typed.mutable_parameters())["top_k"].set_int64_param(4);
  inference::ModelInferResponse response;
  ASSERT_TRUE(infer(typed, response).ok());
  ASSERT_EQ(response.outputs_size(), 3);
  ASSERT_EQ(response.raw_output_contents_size(), 3);
  InferTensor ids{"session_id", "BYTES", {2}}, recs{"item_ids", "BYTES", {2, 4}}, scores{"item_id_scores", "FP32", {2, 4}};
  decode_raw_tensor(response.raw_output_contents(0), ids);
  decode_raw_tensor(response.raw_output_contents(1), recs);
  decode_raw_tensor(response.raw_output_contents(2), scores);
  EXPECT_EQ(ids.bytes, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(response.outputs(1).shape(1), 4);
  auto expected = predictor_->predict(
      std::vector<etl::Event>{{"x", items[0], 100000, 1}, {"y", items[1], 200000, 2}, {"x", items[2], 300000, 3}}, 4);
  for (size_t b = 0; b < 2; ++b)
    for (size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(recs.bytes[b * 4 + j], expected[b].items[j]);
      EXPECT_FLOAT_EQ(static_cast<float>(scores.floats[b * 4 + j]), expected[b].scores[j]);
    }

  // The same request with raw_input_contents, as tritonclient sends it.
  inference::ModelInferRequest raw = typed;
  for (int i = 0; i < raw.inputs_size(); ++i) {
    InferTensor t{raw.inputs(i).name(), raw.inputs(i).datatype(), {3}};
    const auto& c = raw.inputs(i).contents();
    t.bytes.assign(c.bytes_contents().begin(), c.bytes_contents().end());
    t.ints.assign(c.int64_contents().begin(), c.int64_contents().end());
    raw.add_raw_input_contents(encode_raw_tensor(t));
    raw.mutable_inputs(i)->clear_contents();
  }
  inference::ModelInferResponse raw_response;
  ASSERT_TRUE(infer(raw, raw_response).ok());
  EXPECT_EQ(raw_response.raw_output_contents(1), response.raw_output_contents(1));
  EXPECT_EQ(raw_response.raw_output_contents(2), response.raw_output_contents(2));
}

TEST_F(GrpcServerTest, BadRequestsAreInvalidArgumentAndTheServerKeepsServing) {
  auto items = popular_items(*predictor_, 2);
  inference::ModelInferResponse response;
  auto r = typed_request({"s", "s"}, {items[0]}, {1, 2});
  EXPECT_EQ(infer(r, response).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "ragged";
  r = typed_request({"s", "s"}, items, {1, 2});
  r.add_raw_input_contents("abc");
  EXPECT_EQ(infer(r, response).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "raw contents for 1 of 3 inputs";
  r = typed_request({"s", "s"}, items, {1, 2});
  r.mutable_inputs(0)->set_datatype("FP16");
  EXPECT_EQ(infer(r, response).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "FP16";
  r = typed_request({"s", "s"}, items, {1, 2});
  r.set_model_name("nope");
  EXPECT_EQ(infer(r, response).error_code(), grpc::StatusCode::NOT_FOUND);
  r = typed_request({"s", "s"}, items, {1, 2});
  (*r.mutable_parameters())["exclude_seen"].set_bool_param(true);
  EXPECT_TRUE(infer(r, response).ok());
  EXPECT_EQ(service_->metrics().failures(), 3);
  EXPECT_EQ(service_->metrics().successes(), 1);
}

}  // namespace seqrec::serve::test
