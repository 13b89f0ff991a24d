#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/schema/parquet_sessions.h"
#include "seqrec/schema/schema.h"
#include "seqrec/serve/predictor.h"

namespace seqrec::cli {

namespace {
struct PredictFlags {
  std::string data, run, checkpoint, bundle, input, out = "-", format = "csv";
  std::string session_col, item_col, timestamp_col;
  std::vector<std::string> ensemble;
  int64_t top_k = 10;
  bool exclude_seen = false, task_outputs = false;
  double hybrid_sknn = -1.0;
  model::SessionKnnOptions knn;
  RuntimeFlags runtime;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

void add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("predict", "raw events in, top-k raw item ids with scores per session out");
  auto f = std::make_shared<PredictFlags>();
  cmd->add_option("--data,-d", f->data, "ETL output folder (its fitted workflow is applied)");
  cmd->add_option("--bundle,-b", f->bundle, "a bundle from `seqrec export` instead of --data and --run (what the server loads)");
  cmd->add_option("--run,-r", f->run, "run folder (uses its checkpoint.pt)");
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint file instead of --run");
  cmd->add_option("--input,-i", f->input, "raw events in the layout the workflow was fitted on (CSV/TSV/JSON Lines, gzip allowed)")->required();
  cmd->add_option("--out,-o", f->out, "output file, - for stdout")->capture_default_str();
  cmd->add_option("--format", f->format, "csv or json")->capture_default_str();
  cmd->add_option("--top-k,-k", f->top_k, "recommendations per session")->capture_default_str();
  cmd->add_flag("--exclude-seen", f->exclude_seen, "never recommend an item the session already holds");
  cmd->add_flag("--task-outputs", f->task_outputs,
                "also write the model's session-task outputs (a probability per binary task, a value per regression)");
  cmd->add_option("--session-col", f->session_col, "the file's name for the session column (else the workflow's, or session_id)");
  cmd->add_option("--item-col", f->item_col, "the file's name for the item column (else the workflow's, or item_id)");
  cmd->add_option("--timestamp-col", f->timestamp_col, "the file's name for the timestamp column (else the workflow's, or timestamp)");
  cmd->add_option("--ensemble", f->ensemble, "with --data: more run folders whose models are averaged with the first");
  cmd->add_option("--hybrid-sknn", f->hybrid_sknn,
                  "with --data: mix session kNN over its train sessions in with weight W (a bundle carries its own)")
      ->check(CLI::Range(0.0, 1.0));
  add_session_knn_flags(*cmd, f->knn, "the hybrid's kNN");
  f->runtime.add_to(*cmd);
  cmd->callback([f] {
    SEQREC_CHECK(f->top_k > 0, "--top-k must be > 0, got ", f->top_k);
    SEQREC_CHECK(f->format == "csv" || f->format == "json", "--format must be csv or json, got '", f->format, "'");
    const bool from_bundle = !f->bundle.empty();
    SEQREC_CHECK(from_bundle != !f->data.empty(), "give either --bundle DIR, or --data DIR with --run DIR (or --checkpoint FILE)");
    SEQREC_CHECK(from_bundle || !f->run.empty() || !f->checkpoint.empty(), "give --run DIR or --checkpoint FILE with --data");
    SEQREC_CHECK(!from_bundle || (f->run.empty() && f->checkpoint.empty()), "--bundle holds the model: drop --run/--checkpoint");
    SEQREC_CHECK(!from_bundle || f->hybrid_sknn < 0, "--bundle holds its hybrid (seqrec export --hybrid-sknn): drop --hybrid-sknn");
    SEQREC_CHECK(!from_bundle || f->ensemble.empty(), "--bundle holds its ensemble (seqrec export --ensemble): drop --ensemble");
    set_threads(f->runtime.threads);
    const auto device = parse_device(f->runtime.device);
    const std::filesystem::path checkpoint = f->checkpoint.empty() ? std::filesystem::path(f->run) / "checkpoint.pt" : std::filesystem::path(f->checkpoint);
    auto predictor = from_bundle ? serve::Predictor::load_bundle(f->bundle, device) : serve::Predictor::load(f->data, checkpoint, device);
    if (!f->ensemble.empty()) {
      const auto schema = schema::Schema::folder_schema_path(f->data);
      const auto fingerprint = schema::Schema::load(schema).fingerprint();  // read once for all members
      for (const auto& run : f->ensemble)
        predictor.add_ensemble_member(std::filesystem::path(run) / "checkpoint.pt", fingerprint, schema);
    }
    if (f->hybrid_sknn >= 0)
      predictor.set_knn_hybrid(schema::read_split(f->data, "train"), f->hybrid_sknn, f->knn);

    // The request file takes the fitted workflow's own road: its raw input columns (the session, item and timestamp
    // columns also under session_id/item_id/timestamp or the names the flags give), read by the ETL's reader.
    const auto& workflow = predictor.workflow();
    etl::ReadStats stats;
    auto sessions = workflow.transform_file(f->input, predictor.request_input({f->session_col, f->item_col, f->timestamp_col}), stats);
    SEQREC_CHECK(!f->task_outputs || !predictor.model_config().tasks.empty(),
                 "--task-outputs: the model has no session tasks (give it \"tasks\" in its model config)");
    auto recommendations = predictor.predict(
        sessions, std::vector<serve::PredictOptions>(sessions.size(), {f->top_k, f->exclude_seen, f->task_outputs}));

    std::ostringstream out;
    if (f->format == "csv") {
      // Task outputs are per session: repeated on each of its rows, one column per task target.
      out << "session_id,rank,item_id,score";
      if (f->task_outputs)
        for (const auto& t : predictor.model_config().tasks) out << ',' << csv_field(t.target);
      out << '\n';
      for (const auto& r : recommendations)
        for (size_t j = 0; j < r.items.size(); ++j) {
          out << csv_field(r.session_id) << ',' << (j + 1) << ',' << csv_field(r.items[j]) << ',' << r.scores[j];
          for (const auto& [target, value] : r.task_outputs) out << ',' << value;
          out << '\n';
        }
    } else {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& r : recommendations) {
        nlohmann::json line{{"session_id", r.session_id}, {"item_ids", r.items}, {"scores", r.scores}};
        if (f->task_outputs) {
          line["tasks"] = nlohmann::json::object();
          for (const auto& [target, value] : r.task_outputs) line["tasks"][target] = value;
        }
        j.push_back(line);
      }
      out << j.dump(2) << '\n';
    }
    if (f->out == "-")
      std::cout << out.str();
    else
      write_text_file_atomic(f->out, out.str());
    std::fprintf(stderr, "[predict] %zu sessions from %lld events\n", recommendations.size(),
                 static_cast<long long>(stats.rows_read));
  });
}

}  // namespace seqrec::cli
