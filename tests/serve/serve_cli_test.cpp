// `seqrec serve` as a user starts it: every flag the README names, every endpoint it lists, answered over loopback,
// and SIGTERM finishing cleanly.
#include <httplib.h>

#include <chrono>
#include <thread>

#include "seqrec/common/io.h"
#include "serve/serve_fixture.h"

namespace seqrec::serve::test {

using nlohmann::json;

using seqrec::test::free_port;

class ServeCliTest : public ServeTest {};

TEST_F(ServeCliTest, TheServeCommandAnswersEveryReadmeEndpointAndStopsOnSigterm) {
  const int http = free_port(), metrics = free_port();
  const std::string flags = "serve --bundle '" + path("bundle").string() + "' --http-port " + std::to_string(http) +
                            " --metrics-port " + std::to_string(metrics) +
                            " --grpc-port -1 --max-batch 8 --max-queue-delay-us 200 --workers 2 --threads 1"
                            " --max-request-bytes 100000 --max-events 500 --request-timeout-ms 5000 --read-timeout-s 5"
                            " --max-queue 64 --model-name recs";
  const std::string log = path("serve.log").string();
  ASSERT_EQ(std::system((std::string(SEQREC_CLI_PATH) + " " + flags + " > '" + log + "' 2>&1 & echo $! > '" +
                         path("pid").string() + "'").c_str()), 0);
  const std::string pid = read_text_file(path("pid"));
  httplib::Client c("127.0.0.1", http);
  c.set_read_timeout(10, 0);
  bool ready = false;
  for (int i = 0; i < 300 && !ready; ++i) {
    auto res = c.Get("/v2/health/ready");
    ready = res && res->status == 200;
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << read_text_file(path("serve.log"));
  EXPECT_NE(read_text_file(path("serve.log")).find("on http://127.0.0.1:" + std::to_string(http)), std::string::npos)
      << "binds loopback unless told otherwise";
  for (const char* endpoint : {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/recs", "/v2/models/recs/versions/1",
                               "/v2/models/recs/ready", "/v2/models/recs/versions/1/ready", "/v2/models/recs/config",
                               "/v2/models/stats", "/v2/models/recs/stats", "/v2/models/recs/versions/1/stats"}) {
    auto res = c.Get(endpoint);
    ASSERT_TRUE(res) << endpoint;
    EXPECT_EQ(res->status, 200) << endpoint;
  }
  const json request = {{"inputs",
                         {{{"name", "session_id"}, {"datatype", "BYTES"}, {"shape", {2}}, {"data", {"u1", "u1"}}},
                          {{"name", "item_id"}, {"datatype", "BYTES"}, {"shape", {2}}, {"data", {"100001", "100002"}}},
                          {{"name", "timestamp"}, {"datatype", "INT64"}, {"shape", {2}}, {"data", {1704067200, 1704067260}}}}},
                        {"parameters", {{"top_k", 4}, {"exclude_seen", true}}}};
  auto res = c.Post("/v2/models/recs/infer", request.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["outputs"][1]["shape"], json::array({1, 4}));
  // --max-events is the server's: a request over it is refused with 400.
  json big = request;
  big["inputs"][0]["shape"] = {501};
  big["inputs"][0]["data"] = std::vector<std::string>(501, "u1");
  big["inputs"][1]["shape"] = {501};
  big["inputs"][1]["data"] = std::vector<std::string>(501, "100001");
  big["inputs"][2]["shape"] = {501};
  big["inputs"][2]["data"] = std::vector<int64_t>(501, 1704067200);
  res = c.Post("/v2/models/recs/infer", big.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400) << res->body;
  httplib::Client prometheus("127.0.0.1", metrics);
  res = prometheus.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("nv_inference_request_success{model=\"recs\",version=\"1\"} 1"), std::string::npos) << res->body;

  ASSERT_EQ(std::system(("kill -TERM " + pid).c_str()), 0);
  bool stopped = false;
  for (int i = 0; i < 200 && !stopped; ++i) {
    stopped = read_text_file(path("serve.log")).find("[serve] stopped after") != std::string::npos;
    if (!stopped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(stopped) << read_text_file(path("serve.log"));
  EXPECT_NE(read_text_file(path("serve.log")).find("SIGTERM: finishing requests in flight"), std::string::npos);
}

}  // namespace seqrec::serve::test
