#include "seqrec/serve/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/model/batch.h"
#include "serve/serve_fixture.h"

namespace seqrec::serve::test {

using nlohmann::json;

class HttpServerTest : public ServeTest {
 protected:
  void start(ServiceOptions service_options = {}, HttpServerOptions http_options = {}) {
    predictor_ = load_predictor();
    service_ = std::make_unique<ModelService>(predictor_, service_options, manifest());
    http_options.port = 0;
    http_options.metrics_port = 0;
    http_options.threads = 16;
    server_ = std::make_unique<HttpServer>(*service_, http_options);
    server_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    service_.reset();
    ServeTest::TearDown();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(10, 0);
    return c;
  }
  json infer_body(const std::vector<std::string>& sessions, const std::vector<std::string>& items,
                  const std::vector<int64_t>& timestamps, int top_k = 5) const {
    return {{"inputs",
             {{{"name", "session_id"}, {"datatype", "BYTES"}, {"shape", {sessions.size()}}, {"data", sessions}},
              {{"name", "item_id"}, {"datatype", "BYTES"}, {"shape", {items.size()}}, {"data", items}},
              {{"name", "timestamp"}, {"datatype", "INT64"}, {"shape", {timestamps.size()}}, {"data", timestamps}}}},
            {"parameters", {{"top_k", top_k}}}};
  }
  // Posts a body and checks a 4xx with a JSON {"error": ...} naming `fragment`.
  void expect_rejected(const std::string& body, const std::string& fragment, const httplib::Headers& headers = {}) {
    auto res = client().Post("/v2/models/recs/infer", headers, body, "application/json");
    ASSERT_TRUE(res) << "no response for " << fragment;
    EXPECT_GE(res->status, 400) << body.substr(0, 100);
    EXPECT_LT(res->status, 500) << body.substr(0, 100);
    auto j = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << res->body;
    EXPECT_NE(j["error"].get<std::string>().find(fragment), std::string::npos) << j["error"];
  }

  std::shared_ptr<const Predictor> predictor_;
  std::unique_ptr<ModelService> service_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, EveryEndpointAnswersWithItsStatusAndBody) {
  start();
  auto c = client();
  auto res = c.Get("/v2/health/live");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(c.Get("/v2/health/ready")->status, 200);
  res = c.Get("/v2");
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["name"], "seqrec");
  res = c.Get("/v2/models/recs");
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["inputs"][1]["name"], "item_id");
  EXPECT_EQ(c.Get("/v2/models/recs/versions/1")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/recs/ready")->status, 200);
  EXPECT_EQ(c.Get("/v2/models/recs/versions/1/ready")->status, 200);
  res = c.Get("/v2/models/recs/config");
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["name"], "recs");
  for (const char* missing : {"/v2/models/nope", "/v2/models/nope/ready", "/v2/models/nope/config", "/v2/models/recs/versions/9/ready"}) {
    res = c.Get(missing);
    EXPECT_EQ(res->status, 404) << missing;
    EXPECT_TRUE(json::parse(res->body).contains("error")) << missing;
  }
  res = c.Post("/v2/models/nope/infer", infer_body({"s"}, {"1"}, {1}).dump(), "application/json");
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("unknown model 'nope'"), std::string::npos);
  res = c.Get("/v3/whatever");
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(json::parse(res->body).contains("error"));

  auto items = popular_items(*predictor_, 2);
  res = c.Post("/v2/models/recs/infer", infer_body({"a", "a"}, items, {1, 2}, 3).dump(), "application/json");
  ASSERT_EQ(res->status, 200) << res->body;
  auto body = json::parse(res->body);
  EXPECT_EQ(body["model_name"], "recs");
  EXPECT_EQ(body["outputs"][0]["data"], json::array({"a"}));
  EXPECT_EQ(body["outputs"][1]["shape"], json::array({1, 3}));

  httplib::Client metrics("127.0.0.1", server_->metrics_port());
  res = metrics.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("nv_inference_request_success{model=\"recs\",version=\"1\"} 1"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("nv_inference_request_failure{model=\"recs\",version=\"1\"} 0"), std::string::npos) << res->body;

  // Triton's statistics extension: the one request above, one session, one execution.
  for (const char* stats_path : {"/v2/models/stats", "/v2/models/recs/stats", "/v2/models/recs/versions/1/stats"}) {
    res = c.Get(stats_path);
    ASSERT_EQ(res->status, 200) << stats_path;
    auto stats = json::parse(res->body)["model_stats"];
    ASSERT_EQ(stats.size(), 1u) << res->body;
    EXPECT_EQ(stats[0]["name"], "recs");
    EXPECT_EQ(stats[0]["version"], "1");
    EXPECT_EQ(stats[0]["inference_count"], 1);
    EXPECT_EQ(stats[0]["execution_count"], 1);
    EXPECT_EQ(stats[0]["inference_stats"]["success"]["count"], 1);
    EXPECT_GT(stats[0]["inference_stats"]["success"]["ns"].get<int64_t>(), 0);
    EXPECT_EQ(stats[0]["inference_stats"]["fail"]["count"], 0);
    EXPECT_GT(stats[0]["last_inference"].get<int64_t>(), 0);
  }
  EXPECT_EQ(c.Get("/v2/models/nope/stats")->status, 404);
}

TEST_F(HttpServerTest, JsonBinaryPredictAndEvaluatorScoresAgree) {
  start();
  auto test = schema::read_sessions(path("data/sessions/test"));
  ASSERT_GE(test.size(), 3);
  const std::vector<int64_t> rows = {0, 1, 2};
  // The evaluator's view: the model's scores for each session with its last item held out.
  auto loaded = artifacts::load_checkpoint(path("run/checkpoint.pt"), c10::Device(c10::kCPU));
  auto batch = model::make_prefix_batch(test, rows, 20, /*hold_out_last=*/true, c10::Device(c10::kCPU));
  auto [offline_scores, offline_ids] = loaded.model->next_item_scores(batch.items, batch.lengths).topk(5, 1);
  // The same prefixes as raw events.
  std::vector<std::string> sessions, items;
  std::vector<int64_t> timestamps;
  std::string csv = "session_id,item_id,timestamp\n";
  for (int64_t r : rows)
    for (int64_t i = 0; i + 1 < test.length(r); ++i) {
      sessions.push_back(test.session_ids[r]);
      items.push_back(predictor_->workflow().items().decode(test.items_of(r)[i]));
      timestamps.push_back(test.timestamps[test.offsets[r] + i]);
      csv += sessions.back() + "," + items.back() + "," + std::to_string(timestamps.back()) + "\n";
    }
  auto c = client();
  auto res = c.Post("/v2/models/recs/infer", infer_body(sessions, items, timestamps).dump(), "application/json");
  ASSERT_EQ(res->status, 200) << res->body;
  auto body = json::parse(res->body);

  // Binary extension: inputs as raw tensors, outputs asked back in binary.
  InferTensor s = bytes_tensor("session_id", sessions), it = bytes_tensor("item_id", items), ts = int_tensor("timestamp", timestamps);
  std::string raw_s = encode_raw_tensor(s), raw_i = encode_raw_tensor(it), raw_t = encode_raw_tensor(ts);
  json header = {{"inputs",
                  {{{"name", "session_id"}, {"datatype", "BYTES"}, {"shape", {sessions.size()}}, {"parameters", {{"binary_data_size", raw_s.size()}}}},
                   {{"name", "item_id"}, {"datatype", "BYTES"}, {"shape", {items.size()}}, {"parameters", {{"binary_data_size", raw_i.size()}}}},
                   {{"name", "timestamp"}, {"datatype", "INT64"}, {"shape", {timestamps.size()}}, {"parameters", {{"binary_data_size", raw_t.size()}}}}}},
                 {"outputs", {{{"name", "item_ids"}, {"parameters", {{"binary_data", true}}}}, {{"name", "item_id_scores"}, {"parameters", {{"binary_data", true}}}}}},
                 {"parameters", {{"top_k", 5}}}};
  const std::string header_text = header.dump();
  res = c.Post("/v2/models/recs/infer", {{"Inference-Header-Content-Length", std::to_string(header_text.size())}},
               header_text + raw_s + raw_i + raw_t, "application/octet-stream");
  ASSERT_EQ(res->status, 200) << res->body;
  ASSERT_TRUE(res->has_header("Inference-Header-Content-Length"));
  const size_t json_length = std::stoul(res->get_header_value("Inference-Header-Content-Length"));
  auto binary_header = json::parse(res->body.substr(0, json_length));
  ASSERT_EQ(binary_header["outputs"].size(), 2u);
  InferTensor bin_items{"item_ids", "BYTES", {3, 5}}, bin_scores{"item_id_scores", "FP32", {3, 5}};
  const size_t items_size = binary_header["outputs"][0]["parameters"]["binary_data_size"];
  decode_raw_tensor(std::string_view(res->body).substr(json_length, items_size), bin_items);
  decode_raw_tensor(std::string_view(res->body).substr(json_length + items_size), bin_scores);

  // seqrec predict, the CLI, over the same events.
  write("events.csv", csv);
  auto cli = seqrec::test::run_cli("predict --data " + path("data").string() + " --checkpoint " + path("run/checkpoint.pt").string() +
                                   " --input " + path("events.csv").string() + " --top-k 5 --format json --out " +
                                   path("predict.json").string());
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  auto predicted = json::parse(read_text_file(path("predict.json")));
  // ... and from the bundle the server loaded.
  cli = seqrec::test::run_cli("predict --bundle " + path("bundle").string() + " --input " + path("events.csv").string() +
                              " --top-k 5 --format json --out " + path("predict_bundle.json").string());
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  EXPECT_EQ(json::parse(read_text_file(path("predict_bundle.json"))), predicted);
  cli = seqrec::test::run_cli("predict --bundle " + path("bundle").string() + " --data " + path("data").string() +
                              " --input " + path("events.csv").string());
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.output.find("either --bundle"), std::string::npos) << cli.output;

  for (size_t b = 0; b < rows.size(); ++b) {
    EXPECT_EQ(body["outputs"][0]["data"][b], test.session_ids[rows[b]]);
    EXPECT_EQ(predicted[b]["session_id"], test.session_ids[rows[b]]);
    for (int j = 0; j < 5; ++j) {
      const auto offline_item = predictor_->workflow().items().decode(offline_ids[b][j].item<int64_t>());
      const float offline_score = offline_scores[b][j].item<float>();
      EXPECT_EQ(body["outputs"][1]["data"][b * 5 + j], offline_item);
      EXPECT_NEAR(body["outputs"][2]["data"][b * 5 + j].get<double>(), offline_score, 1e-5);
      EXPECT_EQ(bin_items.bytes[b * 5 + j], offline_item);
      EXPECT_NEAR(bin_scores.floats[b * 5 + j], offline_score, 1e-5);
      EXPECT_EQ(predicted[b]["item_ids"][j], offline_item);
      EXPECT_NEAR(predicted[b]["scores"][j].get<double>(), offline_score, 1e-4);
    }
  }
}

TEST_F(HttpServerTest, MalformedOversizedAndHostileRequestsGet4xxAndTheServerKeepsServing) {
  HttpServerOptions http;
  http.max_request_bytes = 8192;
  start({}, http);
  expect_rejected("{not json", "not valid JSON");
  expect_rejected("[1,2,3]", "JSON object");
  expect_rejected("{}", "\"inputs\"");
  expect_rejected(std::string(20000, ' '), "too large");
  expect_rejected(std::string(5000, '[') + std::string(5000, ']'), "");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"BYTES","shape":[2],"data":["a"]}]})", "2 elements but 1");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"BYTES","shape":[-1],"data":[]}]})", "negative");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"BYTES","shape":[4294967296,4294967296],"data":[]}]})",
                  "too large");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"FP16","shape":[1],"data":[1]}]})", "not supported");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"INT64","shape":[1],"data":["x"]}]})", "expected an integer");
  expect_rejected(R"({"inputs":[{"name":"session_id","datatype":"BYTES","shape":[1],"data":[[[[[[[[[["a"]]]]]]]]]]}]})", "nested");
  const std::string claims_too_much =
      R"({"inputs":[{"name":"session_id","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":64}}]})";
  expect_rejected(claims_too_much + "abc", "runs past the end",
                  {{"Inference-Header-Content-Length", std::to_string(claims_too_much.size())}});
  expect_rejected(R"({"inputs":[]})", "bogus", {{"Inference-Header-Content-Length", "bogus"}});
  expect_rejected(R"({"inputs":[]})", "only", {{"Inference-Header-Content-Length", "100000"}});
  expect_rejected(infer_body({"s", "s"}, {"1"}, {1, 2}).dump(), "ragged");
  expect_rejected(R"({"inputs":[{"name":"price","datatype":"FP32","shape":[1],"data":[1.5]}]})", "unknown input 'price'");

  // Garbage that is not HTTP at all, on a raw socket.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server_->port()));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string garbage = "\x16\x03\x01 NOT HTTP\r\n\r\n";
  ASSERT_GT(send(fd, garbage.data(), garbage.size(), 0), 0);
  char reply[256] = {};
  ASSERT_GT(recv(fd, reply, sizeof reply - 1, 0), 0);
  EXPECT_EQ(std::string(reply).substr(0, 12), "HTTP/1.1 400");
  close(fd);

  auto res = client().Post("/v2/models/recs/infer", infer_body({"s"}, popular_items(*predictor_, 1), {1}).dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
}

TEST_F(HttpServerTest, ConcurrentClientsGetTheirOwnAnswers) {
  ServiceOptions options;
  options.batching.max_queue_delay_us = 5000;
  start(options);
  auto items = popular_items(*predictor_, 20);
  std::vector<std::future<int>> results;
  for (int t = 0; t < 8; ++t)
    results.push_back(std::async(std::launch::async, [&, t] {
      auto c = client();
      int bad = 0;
      for (int i = 0; i < 5; ++i) {
        const std::string session = "c" + std::to_string(t) + "." + std::to_string(i);
        const std::vector<std::string> mine = {items[(t + i) % 20], items[(3 * t + i + 1) % 20]};
        auto res = c.Post("/v2/models/recs/infer", infer_body({session, session}, mine, {5, 6}).dump(), "application/json");
        if (!res || res->status != 200) {
          ++bad;
          continue;
        }
        auto expected = predictor_->predict(std::vector<etl::Event>{{session, mine[0], 5000, 1}, {session, mine[1], 6000, 2}}, 5);
        auto body = json::parse(res->body);
        bad += body["outputs"][0]["data"][0] != session;
        bad += body["outputs"][1]["data"].get<std::vector<std::string>>() != expected[0].items;
      }
      return bad;
    }));
  for (auto& r : results) EXPECT_EQ(r.get(), 0);
  EXPECT_EQ(service_->metrics().successes(), 40);
}

TEST_F(HttpServerTest, ASecondServerOnAPortInUseIsRefused) {
  start();
  HttpServerOptions again;
  again.port = server_->port();
  again.metrics_port = -1;
  HttpServer second(*service_, again);
  try {
    second.start();
    FAIL() << "two servers listen on port " << server_->port();
  } catch (const seqrec::InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  EXPECT_EQ(client().Get("/v2/health/ready")->status, 200);
}

TEST_F(HttpServerTest, StopFinishesRequestsInFlight) {
  ServiceOptions options;
  options.batching.max_queue_delay_us = 5'000'000;  // the request is still queued when stop begins
  start(options);
  auto items = popular_items(*predictor_, 2);
  auto in_flight = std::async(std::launch::async, [&] {
    auto res = client().Post("/v2/models/recs/infer", infer_body({"s", "s"}, items, {1, 2}).dump(), "application/json");
    return res ? res->status : -1;
  });
  // In flight, whatever the machine's speed (the future check only keeps a hung client from spinning forever).
  while (service_->metrics().pending() == 0 && in_flight.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    std::this_thread::yield();
  server_->stop();
  service_->shutdown();
  EXPECT_EQ(in_flight.get(), 200);
  EXPECT_FALSE(client().Get("/v2/health/live")) << "still accepting after stop";
}

}  // namespace seqrec::serve::test
