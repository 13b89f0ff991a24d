// One road for raw events: the same awkward rows (a byte-order mark, CRLF line ends, semicolons, quoted fields with
// the delimiter and doubled quotes, a date split over columns plus a click order, rows out of order) through `etl`,
// through predict's file reader and through the HTTP server give identical sessions and identical recommendations.
#include <httplib.h>

#include <map>

#include "seqrec/common/error.h"
#include "seqrec/etl/workflow.h"
#include "seqrec/model/session_model.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/bundle.h"
#include "seqrec/serve/http_server.h"
#include "seqrec/serve/model_service.h"
#include "seqrec/serve/predictor.h"
#include "seqrec/export/checkpoint.h"
#include "support.h"

namespace seqrec::serve {

using nlohmann::json;

namespace {

// Four days of sessions in the UCI layout; day 3's sessions are the test split the server and predict see again.
struct Row {
  int day, order;
  std::string session, item;
};

std::vector<Row> awkward_rows() {
  std::vector<Row> rows;
  const std::vector<std::string> items = {"A13", "\"B;4\"", "C \"\"x\"\"", "D7", "\"E,5\""};
  for (int day = 1; day <= 4; ++day)
    for (int s = 0; s < 6; ++s) {
      const std::string session = "\"" + std::to_string(day) + "-" + std::to_string(s) + "\"";
      // Rows of a session arrive in reverse click order: the order column, not the file, orders them.
      for (int k = 3; k >= 1; --k) rows.push_back({day, k, session, items[(day + s * k) % items.size()]});
    }
  return rows;
}

std::string to_text(const std::vector<Row>& rows) {
  std::string csv = "\xEF\xBB\xBFyear;month;day;order;session ID;page 2 (clothing model);price\r\n";
  for (const auto& r : rows)
    csv += "2008;4;" + std::to_string(r.day) + ";" + std::to_string(r.order) + ";" + r.session + ";" + r.item + ";12\r\n";
  return csv;
}

/// A CSV field as a client sends it after parsing: quotes removed, doubled quotes single.
std::string unquoted(const std::string& field) {
  if (field.empty() || field.front() != '"') return field;
  std::string out;
  for (size_t i = 1; i + 1 < field.size(); ++i) {
    out += field[i];
    if (field[i] == '"') ++i;
  }
  return out;
}

struct Sessions {
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<int64_t>>> by_id;  ///< items, timestamps
};

Sessions by_id(const schema::SessionTable& t) {
  Sessions out;
  for (int64_t r = 0; r < t.size(); ++r) {
    auto& [items, times] = out.by_id[t.session_ids[r]];
    for (int64_t i = 0; i < t.length(r); ++i) {
      items.push_back(t.items_of(r)[i]);
      times.push_back(t.timestamps[t.offsets[r] + i]);
    }
  }
  return out;
}

}  // namespace

using OneRoadTest = test::TempDirTest;

TEST_F(OneRoadTest, EtlPredictAndTheHttpServerMakeTheSameSessionsFromTheSameRows) {
  const auto rows = awkward_rows();
  auto file = write("events.csv", to_text(rows));
  etl::WorkflowOptions options;
  options.columns.session = "session ID";
  options.columns.item = "page 2 (clothing model)";
  options.columns.date_parts = {"year", "month", "day"};
  options.columns.order = "order";
  options.split.valid_days = 1;
  options.split.test_days = 1;
  etl::run_etl({file.string()}, options, path("data"));
  const auto offline = by_id(schema::read_sessions(path("data/sessions/test")));
  ASSERT_EQ(offline.by_id.size(), 6u);

  // A model, so the server and predict can answer (untrained: parity needs no training).
  const auto data_schema = schema::Schema::load(path("data/schema.json"));
  artifacts::CheckpointMeta meta;
  meta.model.num_items = data_schema.item_column().cardinality;
  meta.model.d_model = 16;
  meta.model.num_heads = 2;
  meta.model.num_layers = 1;
  meta.schema_fingerprint = data_schema.fingerprint();
  artifacts::save_checkpoint(path("run/checkpoint.pt"), *model::make_model(meta.model), meta);
  artifacts::ExportOptions export_options;
  export_options.model_name = "recs";
  artifacts::export_bundle(path("data"), path("run/checkpoint.pt"), path("bundle"), export_options);
  auto predictor = std::make_shared<const Predictor>(Predictor::load_bundle(path("bundle"), c10::Device(c10::kCPU)));
  const auto& workflow = predictor->workflow();

  // predict's road: the test day's rows, as a file in the same raw layout.
  std::vector<Row> day4;
  for (const auto& r : rows)
    if (r.day == 4) day4.push_back(r);
  auto request_file = write("request.csv", to_text(day4));
  etl::ReadStats stats;
  const auto from_file = workflow.transform_file(request_file.string(), workflow.request_input(), stats);
  EXPECT_EQ(stats.rows_read, static_cast<int64_t>(day4.size()));
  EXPECT_EQ(by_id(from_file).by_id, offline.by_id);

  // The server's road: the same rows as KServe v2 tensors, raw column names, parsed values.
  json inputs = json::array();
  auto column = [&](const std::string& name, const std::string& datatype, auto value_of) {
    json data = json::array();
    for (const auto& r : day4) data.push_back(value_of(r));
    inputs.push_back({{"name", name}, {"datatype", datatype}, {"shape", {day4.size()}}, {"data", data}});
  };
  column("year", "INT64", [](const Row&) { return 2008; });
  column("month", "INT64", [](const Row&) { return 4; });
  column("day", "INT64", [](const Row& r) { return r.day; });
  column("order", "INT64", [](const Row& r) { return r.order; });
  column("session_id", "BYTES", [](const Row& r) { return unquoted(r.session); });  // the Merlin name is accepted too
  column("page 2 (clothing model)", "BYTES", [](const Row& r) { return unquoted(r.item); });
  ModelService service(predictor, ServiceOptions{}, artifacts::verify_bundle(path("bundle")));
  std::vector<InferTensor> tensors;
  for (const auto& in : inputs) {
    InferTensor t{in["name"], in["datatype"], {static_cast<int64_t>(day4.size())}};
    for (const auto& v : in["data"]) v.is_string() ? t.bytes.push_back(v.get<std::string>()) : t.ints.push_back(v.get<int64_t>());
    tensors.push_back(std::move(t));
  }
  const auto from_request = workflow.transform_frame(service.raw_frame_from_inputs(tensors));
  EXPECT_EQ(by_id(from_request).by_id, offline.by_id);

  // And over HTTP: the server's top-5 are predict's top-5.
  HttpServerOptions http;
  http.port = 0;
  http.metrics_port = 0;
  HttpServer server(service, http);
  server.start();
  httplib::Client client("127.0.0.1", server.port());
  auto res = client.Post("/v2/models/recs/infer", json{{"inputs", inputs}, {"parameters", {{"top_k", 5}}}}.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto body = json::parse(res->body);
  const auto expected = predictor->predict(from_file, 5);
  std::map<std::string, std::vector<std::string>> served, offline_top;
  std::vector<std::string> ids, items;
  for (const auto& out : body["outputs"]) {
    if (out["name"] == "session_id") ids = out["data"].get<std::vector<std::string>>();
    if (out["name"] == "item_ids") items = out["data"].get<std::vector<std::string>>();
  }
  ASSERT_EQ(items.size(), ids.size() * 5);
  for (size_t s = 0; s < ids.size(); ++s) served[ids[s]] = std::vector<std::string>(items.begin() + 5 * s, items.begin() + 5 * (s + 1));
  for (const auto& r : expected) offline_top[r.session_id] = r.items;
  EXPECT_EQ(served, offline_top);
  server.stop();
}

TEST_F(OneRoadTest, ARequestWithoutTheDateColumnsIsRefusedByName) {
  auto file = write("events.csv", to_text(awkward_rows()));
  etl::WorkflowOptions options;
  options.columns.session = "session ID";
  options.columns.item = "page 2 (clothing model)";
  options.columns.date_parts = {"year", "month", "day"};
  options.columns.order = "order";
  auto workflow = etl::Workflow::from_options(options);
  // predict --timestamp-col on a workflow that makes its timestamp from dates: a clear error, not a silent fallback.
  try {
    workflow.request_input({"", "", "ts"});
    FAIL() << "no error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("'year', 'month', 'day'"), std::string::npos) << e.what();
  }
  auto plain = write("plain.csv", "session_id,item_id,timestamp\ns,a,1\n");
  etl::ReadStats stats;
  try {
    workflow.transform_file(plain.string(), workflow.request_input(), stats);
    FAIL() << "no error";
  } catch (const InvalidInput& e) {
    EXPECT_NE(std::string(e.what()).find("plain.csv:1: no column named 'year'"), std::string::npos) << e.what();
  }
}

}  // namespace seqrec::serve
