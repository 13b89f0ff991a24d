#include "seqrec/serve/model_service.h"

#include <future>
#include <thread>

#include "serve/serve_fixture.h"

namespace seqrec::serve::test {

class ModelServiceTest : public ServeTest {
 protected:
  InferRequest request_for(const std::vector<std::string>& sessions, const std::vector<std::string>& items,
                           const std::vector<int64_t>& timestamps) const {
    InferRequest r;
    r.model_name = "recs";
    r.inputs = {bytes_tensor("session_id", sessions), bytes_tensor("item_id", items), int_tensor("timestamp", timestamps)};
    return r;
  }
  static int status_of(ModelService& service, const InferRequest& r) {
    try {
      service.infer(r);
      return 200;
    } catch (const ServeError& e) {
      return e.status();
    }
  }
};

TEST_F(ModelServiceTest, ResponseCarriesSessionIdsRawItemsAndThePredictorsScores) {
  auto predictor = load_predictor();
  ModelService service(predictor, {}, manifest());
  auto items = popular_items(*predictor, 6);
  // Two sessions, interleaved and out of time order: the workflow groups and sorts them as offline ETL does.
  auto request = request_for({"s2", "s1", "s2", "s1", "s2"}, {items[0], items[1], items[2], items[3], items[4]},
                             {1700000300, 1700000200, 1700000100, 1700000100, 1700000200});
  request.parameters = {{"top_k", 4}};
  request.id = "req-7";
  auto response = service.infer(request);
  EXPECT_EQ(response.model_name, "recs");
  EXPECT_EQ(response.id, "req-7");
  ASSERT_EQ(response.outputs.size(), 3u);
  const auto& ids = response.outputs[0];
  const auto& recs = response.outputs[1];
  const auto& scores = response.outputs[2];
  EXPECT_EQ(ids.name, "session_id");
  EXPECT_EQ(ids.bytes, (std::vector<std::string>{"s2", "s1"}));
  EXPECT_EQ(recs.shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(scores.datatype, "FP32");

  std::vector<etl::Event> events = {{"s2", items[2], 1700000100000, 3}, {"s2", items[4], 1700000200000, 5},
                                    {"s2", items[0], 1700000300000, 1}, {"s1", items[3], 1700000100000, 4},
                                    {"s1", items[1], 1700000200000, 2}};
  auto expected = predictor->predict(events, 4);
  ASSERT_EQ(expected.size(), 2u);
  std::map<std::string, size_t> row = {{"s2", 0}, {"s1", 1}};
  for (const auto& e : expected) {
    for (int j = 0; j < 4; ++j) {
      EXPECT_EQ(recs.bytes[row[e.session_id] * 4 + j], e.items[j]);
      EXPECT_FLOAT_EQ(static_cast<float>(scores.floats[row[e.session_id] * 4 + j]), e.scores[j]);
    }
  }
}

TEST_F(ModelServiceTest, IntegerIdsMeanTheSameRawIdsAsStrings) {
  auto predictor = load_predictor();
  ModelService service(predictor, {}, manifest());
  auto items = popular_items(*predictor, 2);
  auto as_text = service.infer(request_for({"7", "7"}, items, {1, 2}));
  InferRequest as_ints;
  as_ints.model_name = "recs";
  as_ints.inputs = {int_tensor("session_id", {7, 7}), int_tensor("item_id", {std::stoll(items[0]), std::stoll(items[1])}),
                    int_tensor("timestamp", {1, 2})};
  auto response = service.infer(as_ints);
  EXPECT_EQ(response.outputs[0].bytes, as_text.outputs[0].bytes);
  EXPECT_EQ(response.outputs[1].bytes, as_text.outputs[1].bytes);
}

TEST_F(ModelServiceTest, ExcludeSeenNeverReturnsTheSessionsItems) {
  auto predictor = load_predictor();
  ModelService service(predictor, {}, manifest());
  auto catalogue = popular_items(*predictor, 10);
  auto request = request_for({"s", "s", "s", "s", "s", "s", "s", "s", "s", "s"}, catalogue, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  request.parameters = {{"top_k", 20}, {"exclude_seen", true}};
  auto response = service.infer(request);
  ASSERT_EQ(response.outputs[1].shape[1], 20);
  for (const auto& item : response.outputs[1].bytes)
    EXPECT_EQ(std::find(catalogue.begin(), catalogue.end(), item), catalogue.end()) << item << " was seen";
  request.parameters = {{"top_k", 20}};
  auto with_seen = service.infer(request);
  int seen = 0;
  for (const auto& item : with_seen.outputs[1].bytes) seen += std::find(catalogue.begin(), catalogue.end(), item) != catalogue.end();
  EXPECT_GT(seen, 0) << "an untrained model ranks some of the 10 most popular items in its top 20";
}

TEST_F(ModelServiceTest, BadRequestsAre400UnknownModelsAre404) {
  auto predictor = load_predictor();
  ServiceOptions options;
  options.max_events_per_request = 4;
  ModelService service(predictor, options, manifest());
  auto ok = request_for({"s", "s"}, popular_items(*predictor, 2), {1, 2});
  EXPECT_EQ(status_of(service, ok), 200);

  auto r = ok;
  r.inputs.push_back(bytes_tensor("category", {"a", "b"}));
  EXPECT_EQ(status_of(service, r), 400) << "unknown input";
  r = ok;
  r.inputs[1] = bytes_tensor("item_id", {"1", "2", "3"});
  EXPECT_EQ(status_of(service, r), 400) << "ragged";
  r = ok;
  r.inputs[0] = InferTensor{"session_id", "FP32", {2}};
  r.inputs[0].floats = {1.0, 2.0};
  EXPECT_EQ(status_of(service, r), 400) << "wrong datatype";
  r = ok;
  r.inputs[0].shape = {1, 2};
  EXPECT_EQ(status_of(service, r), 400) << "not 1-D";
  r = request_for({"s", "s", "s", "s", "s"}, {"1", "2", "3", "4", "5"}, {1, 2, 3, 4, 5});
  EXPECT_EQ(status_of(service, r), 400) << "too many events";
  r = request_for({}, {}, {});
  EXPECT_EQ(status_of(service, r), 400) << "no events";
  r = ok;
  r.inputs[2] = bytes_tensor("timestamp", {"yesterday", "today"});
  EXPECT_EQ(status_of(service, r), 400) << "unparseable timestamp";
  r = ok;
  r.parameters = {{"top_k", 0}};
  EXPECT_EQ(status_of(service, r), 400);
  r.parameters = {{"top_k", "ten"}};
  EXPECT_EQ(status_of(service, r), 400);
  r.parameters = {{"exclude_seen", 1}};
  EXPECT_EQ(status_of(service, r), 400);
  r = ok;
  r.outputs = {InferTensor{"probabilities", "", {}}};
  EXPECT_EQ(status_of(service, r), 400) << "unknown output";
  r = ok;
  r.model_name = "other";
  EXPECT_EQ(status_of(service, r), 404);
  r = ok;
  r.model_version = "2";
  EXPECT_EQ(status_of(service, r), 404);
  EXPECT_EQ(status_of(service, ok), 200) << "still serving after bad requests";
}

TEST_F(ModelServiceTest, ConcurrentClientsGetTheirOwnAnswersFromSharedBatches) {
  auto predictor = load_predictor();
  ServiceOptions options;
  options.batching.max_queue_delay_us = 20000;  // wide window: requests from different threads share executions
  options.batching.max_batch_sessions = 16;
  ModelService service(predictor, options, manifest());
  auto items = popular_items(*predictor, 30);
  constexpr int kThreads = 8, kRequests = 6;
  std::vector<std::future<int>> mismatches;
  for (int t = 0; t < kThreads; ++t) {
    mismatches.push_back(std::async(std::launch::async, [&, t] {
      int bad = 0;
      for (int i = 0; i < kRequests; ++i) {
        const std::string session = "t" + std::to_string(t) + "-" + std::to_string(i);
        std::vector<std::string> session_items = {items[(t * 7 + i) % 30], items[(t * 3 + i * 5 + 1) % 30]};
        auto response = service.infer(request_for({session, session}, session_items, {10, 20}));
        auto expected = predictor->predict(std::vector<etl::Event>{{session, session_items[0], 10000, 1}, {session, session_items[1], 20000, 2}}, 10);
        bad += response.outputs[0].bytes != std::vector<std::string>{session};
        bad += response.outputs[1].bytes != expected[0].items;
      }
      return bad;
    }));
  }
  for (auto& m : mismatches) EXPECT_EQ(m.get(), 0);
  EXPECT_EQ(service.metrics().inferences(), kThreads * kRequests);
  EXPECT_LT(service.metrics().executions(), kThreads * kRequests) << "no request shared an execution";
}

TEST_F(ModelServiceTest, ShutdownFinishesQueuedRequestsThenRefusesNewOnes) {
  auto predictor = load_predictor();
  ServiceOptions options;
  // The request would wait a minute for others to batch with: only shutdown can let it go.
  options.batching.max_queue_delay_us = 60'000'000;
  options.batching.max_batch_sessions = 64;
  ModelService service(predictor, options, manifest());
  auto request = request_for({"s", "s"}, popular_items(*predictor, 2), {1, 2});
  auto in_flight = std::async(std::launch::async, [&] { return service.infer(request); });
  while (service.metrics().pending() == 0) std::this_thread::yield();  // queued, whatever the machine's speed
  service.shutdown();
  ASSERT_EQ(in_flight.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "shutdown did not cut the wait short";
  EXPECT_EQ(in_flight.get().outputs[0].bytes, std::vector<std::string>{"s"});
  EXPECT_FALSE(service.ready());
  EXPECT_EQ(status_of(service, request), 503);
}

TEST_F(ModelServiceTest, MetricsUseTritonNames) {
  auto predictor = load_predictor();
  ModelService service(predictor, {}, manifest());
  auto started = std::chrono::steady_clock::now();
  service.infer(request_for({"s"}, popular_items(*predictor, 1), {1}));
  service.record_request(true, started);
  service.record_request(false, started);
  const auto text = service.metrics().prometheus_text();
  for (const char* line : {"nv_inference_request_success{model=\"recs\",version=\"1\"} 1",
                           "nv_inference_request_failure{model=\"recs\",version=\"1\"} 1",
                           "nv_inference_count{model=\"recs\",version=\"1\"} 1",
                           "nv_inference_exec_count{model=\"recs\",version=\"1\"} 1", "# TYPE nv_inference_request_duration_us counter",
                           "nv_inference_queue_duration_us{", "nv_inference_compute_infer_duration_us{"})
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

TEST_F(ModelServiceTest, MetadataAndConfigDescribeTheRawEventInputs) {
  ModelService service(load_predictor(), {}, manifest());
  auto metadata = service.model_metadata();
  EXPECT_EQ(metadata["name"], "recs");
  EXPECT_EQ(metadata["inputs"][0]["name"], "session_id");
  EXPECT_EQ(metadata["inputs"][1]["name"], "item_id");
  EXPECT_EQ(metadata["inputs"][2]["name"], "timestamp");
  EXPECT_EQ(metadata["outputs"][2]["name"], "item_id_scores");
  auto config = service.model_config();
  EXPECT_EQ(config["dynamic_batching"]["preferred_batch_size"][0], 64);
  EXPECT_EQ(config["input"][0]["data_type"], "TYPE_STRING");
}

}  // namespace seqrec::serve::test
