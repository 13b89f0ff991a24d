#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/metrics/task_metrics.h"
#include "seqrec/model/baseline.h"
#include "seqrec/model/ensemble.h"
#include "seqrec/model/session_knn.h"
#include "seqrec/schema/parquet_sessions.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/checkpoint.h"

namespace seqrec::cli {

namespace {
struct EvaluateFlags {
  std::vector<std::string> ensemble;
  std::string data, run, checkpoint, split = "test", ks = "10,20", json, protocol = "last-item",
                                      baselines = "popularity";
  int64_t batch_size = 256, sampled_negatives = 0, holdout_offset = 0, max_length = 0;
  double hybrid_sknn = -1;
  model::SessionKnnOptions knn;
  uint64_t seed = 7;
  bool exclude_seen = false;
  RuntimeFlags runtime;
};

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ','))
    if (!part.empty() && part != "none") out.push_back(part);
  return out;
}

void add_evaluate_flags(CLI::App& cmd, EvaluateFlags& f) {
  cmd.add_option("--data,-d", f.data, "ETL output folder")->required();
  cmd.add_option("--run,-r", f.run, "run folder (uses its checkpoint.pt); without --run or --checkpoint only baselines");
  cmd.add_option("--checkpoint", f.checkpoint, "a checkpoint file instead of --run");
  cmd.add_option("--ensemble", f.ensemble,
                  "more run folders (repeatable) whose models are averaged with the first as probabilities; rows MODELxN");
  cmd.add_option("--split", f.split, "train, valid or test")->capture_default_str();
  cmd.add_option("--k", f.ks, "cut-offs")->capture_default_str();
  cmd.add_option("--protocol", f.protocol, "last-item, every-prefix (SR-GNN/GRU4Rec) or leave-one-out (SASRec)")
      ->capture_default_str()->group("Protocol");
  cmd.add_option("--holdout-offset", f.holdout_offset, "leave-one-out: 0 = last item, 1 = second to last")
      ->capture_default_str()->group("Protocol");
  cmd.add_flag("--exclude-seen", f.exclude_seen, "remove each prediction's history items from its ranking")->group("Protocol");
  cmd.add_option("--sampled-negatives", f.sampled_negatives,
                  "rank against N random unseen items instead of the full catalogue (reported as sampled)")
      ->capture_default_str()->group("Protocol");
  cmd.add_option("--seed", f.seed, "seed of the sampled negatives")->capture_default_str()->group("Protocol");
  cmd.add_option("--baselines", f.baselines, "comma list of popularity, markov, sknn (or none)")->capture_default_str();
  cmd.add_option("--max-length", f.max_length, "history items the baselines see when no model is given (0 = the schema's item list length)")
      ->capture_default_str();
  cmd.add_option("--hybrid-sknn", f.hybrid_sknn,
                  "also rank by (1 - W) * the model's softmax + W * session kNN's vote (Jannach & Ludewig 2017): row MODEL+sknn")
      ->check(CLI::Range(0.0, 1.0));
  add_session_knn_flags(cmd, f.knn, "session kNN (the baseline takes only neighbours and sample; it stays V-SkNN)");
  cmd.add_option("--json", f.json, "also write the results as JSON to this file (- for stdout)");
  cmd.add_option("--batch-size", f.batch_size, "predictions per scoring batch")->capture_default_str();
  f.runtime.add_to(cmd);
}

/// The evaluator's options from the flags and the schema's item column (its first real id, its list length).
metrics::EvaluatorOptions evaluator_options(const EvaluateFlags& f, const schema::ColumnSchema& item, c10::Device device) {
  metrics::EvaluatorOptions options;
  options.ks = parse_k_list(f.ks, "--k");
  options.batch_size = f.batch_size;
  options.device = device;
  options.protocol = metrics::parse_protocol(f.protocol);
  options.holdout_offset = f.holdout_offset;
  options.exclude_seen = f.exclude_seen;
  options.sampled_negatives = f.sampled_negatives;
  options.seed = f.seed;
  options.first_item_id = item.first_value_id;
  options.max_length = f.max_length > 0 ? f.max_length : std::max<int64_t>(1, item.max_length);
  return options;
}

/// What the rows are evaluated against: the sessions of --split, and on demand the train split and the session kNN
/// over it, each read or built once. The hybrid's kNN takes every kNN flag; the sknn baseline stays V-SkNN as
/// Transformers4Rec ran it, so it is the same one unless STAN's are given.
class EvaluationData {
 public:
  EvaluationData(const EvaluateFlags& f, c10::Device device)
      : f_(f), dir_(f.data), device_(device), schema_(schema::Schema::load_folder(dir_)),
        sessions_(schema::read_split(dir_, f.split)) {}

  const schema::Schema& schema() const { return schema_; }
  const schema::SessionTable& sessions() const { return sessions_; }
  std::filesystem::path schema_path() const { return schema::Schema::folder_schema_path(dir_); }
  int64_t num_items() const { return schema_.item_column().cardinality; }
  int64_t first_item_id() const { return schema_.item_column().first_value_id; }

  const schema::SessionTable& train() {
    if (!train_) train_ = schema::read_split(dir_, "train");
    return *train_;
  }
  std::shared_ptr<model::SessionKnn> session_knn(bool for_hybrid) {
    auto& knn = for_hybrid || f_.knn.is_plain() ? hybrid_knn_ : baseline_knn_;
    model::SessionKnnOptions v_sknn;
    v_sknn.neighbors = f_.knn.neighbors;
    v_sknn.sample_size = f_.knn.sample_size;
    if (!knn) knn = std::make_shared<model::SessionKnn>(train(), num_items(), first_item_id(), device_, for_hybrid ? f_.knn : v_sknn);
    return knn;
  }

 private:
  const EvaluateFlags& f_;
  const std::filesystem::path dir_;
  const c10::Device device_;
  schema::Schema schema_;
  schema::SessionTable sessions_;
  std::optional<schema::SessionTable> train_;
  std::shared_ptr<model::SessionKnn> hybrid_knn_, baseline_knn_;
};

/// The model of --run/--checkpoint (averaged with --ensemble members), and its kNN hybrid with --hybrid-sknn. The
/// prefixes are cut to the model's max_length, for the baselines after it too.
std::vector<metrics::EvaluationResult> evaluate_model(const EvaluateFlags& f, EvaluationData& data, metrics::EvaluatorOptions& options,
                                                      c10::Device device, const std::filesystem::path& checkpoint) {
  auto loaded = artifacts::load_checkpoint(checkpoint, device);
  const auto fingerprint = data.schema().fingerprint();
  artifacts::check_schema_matches(loaded.meta, fingerprint, checkpoint, data.schema_path());
  options.max_length = loaded.meta.model.max_length;
  std::vector<std::shared_ptr<model::SessionModel>> members{loaded.model};
  for (const auto& run : f.ensemble) {
    const auto member_checkpoint = std::filesystem::path(run) / "checkpoint.pt";
    auto member = artifacts::load_checkpoint(member_checkpoint, device);
    artifacts::check_schema_matches(member.meta, fingerprint, member_checkpoint, data.schema_path());
    model::check_ensemble_member(*loaded.model, *member.model, "--ensemble " + member_checkpoint.string());
    members.push_back(member.model);
  }
  model::BatchColumns columns;
  for (const auto& m : members) columns.merge(model::BatchColumns{m->batch_columns().features, {}});
  options.columns = columns;
  metrics::Evaluator evaluator(options);
  auto scores = [&](const model::PrefixBatch& b) { return model::ensemble_scores(members, b); };
  const std::string name = model::to_string(loaded.model->config().architecture) + (members.size() > 1 ? "x" + std::to_string(members.size()) : "");
  std::vector<metrics::EvaluationResult> results{evaluator.evaluate(data.sessions(), scores, name)};
  // The first model's session tasks (an ensemble averages next-item scores only).
  results.front().task_metrics = metrics::evaluate_session_tasks(
      data.sessions(), metrics::session_tasks(loaded.model->config()),
      [&](const model::PrefixBatch& b) { return loaded.model->task_outputs(b); }, options);
  if (f.hybrid_sknn >= 0) {
    auto knn = data.session_knn(true);
    results.push_back(evaluator.evaluate(
        data.sessions(), [&](const model::PrefixBatch& b) { return model::mix_with_knn(scores(b), knn->distribution(b), f.hybrid_sknn); },
        name + "+sknn"));
  }
  return results;
}

std::vector<metrics::EvaluationResult> evaluate_baselines(const std::vector<std::string>& names, EvaluationData& data,
                                                          const metrics::EvaluatorOptions& options, c10::Device device) {
  metrics::Evaluator evaluator(options);
  std::vector<metrics::EvaluationResult> results;
  for (const auto& name : names) {
    std::shared_ptr<model::ItemScorer> baseline;
    if (name == "sknn")
      baseline = data.session_knn(false);
    else
      baseline = model::make_baseline(name, data.train(), data.num_items(), data.first_item_id(), device);
    results.push_back(evaluator.evaluate(data.sessions(), [&](const model::PrefixBatch& b) { return baseline->scores(b); }, name));
  }
  return results;
}

void print_results(const EvaluateFlags& f, const std::vector<metrics::EvaluationResult>& results, const std::string& checkpoint,
                   int64_t catalogue) {
  // With --json -, stdout carries the JSON alone (pipeable into a parser); the table goes to stderr.
  FILE* table = f.json == "-" ? stderr : stdout;
  std::fprintf(table, "%s split: %lld predictions over %lld catalogue items; %lld targets unseen in train count as misses\n",
              f.split.c_str(), static_cast<long long>(results.front().predictions), static_cast<long long>(catalogue),
              static_cast<long long>(results.front().unscorable_targets));
  std::fprintf(table, "%s", metrics::format_results_table(results).c_str());
  if (f.json.empty()) return;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& r : results) all.push_back(r.to_json());
  nlohmann::json j = {{"split", f.split}, {"checkpoint", checkpoint}, {"protocol", results.front().protocol},
                      {"sampled", results.front().sampled}, {"results", all}};
  if (f.json == "-")
    std::cout << j.dump(2) << std::endl;
  else
    write_text_file_atomic(f.json, j.dump(2) + "\n");
}

void run_evaluate(const EvaluateFlags& f) {
  set_threads(f.runtime.threads);
  const auto device = parse_device(f.runtime.device);
  SEQREC_CHECK(f.split == "train" || f.split == "valid" || f.split == "test", "--split must be train, valid or test; got '",
               f.split, "'");
  const auto baselines = split_names(f.baselines);
  for (const auto& name : baselines)
    SEQREC_CHECK(std::find(model::baseline_names().begin(), model::baseline_names().end(), name) != model::baseline_names().end(),
                 "--baselines: unknown baseline '", name, "'; known: popularity, markov, sknn, none");
  const bool has_model = !f.run.empty() || !f.checkpoint.empty();
  SEQREC_CHECK(f.hybrid_sknn < 0 || has_model, "--hybrid-sknn needs a model: give --run or --checkpoint");
  SEQREC_CHECK(f.ensemble.empty() || has_model, "--ensemble needs a first model: give --run or --checkpoint");
  SEQREC_CHECK(has_model || !baselines.empty(), "nothing to evaluate: give --run, --checkpoint or --baselines");
  EvaluationData data(f, device);
  auto options = evaluator_options(f, data.schema().item_column(), device);
  std::vector<metrics::EvaluationResult> results;
  std::string checkpoint;
  if (has_model) {
    checkpoint = f.checkpoint.empty() ? (std::filesystem::path(f.run) / "checkpoint.pt").string() : f.checkpoint;
    results = evaluate_model(f, data, options, device, checkpoint);
  }
  for (auto& r : evaluate_baselines(baselines, data, options, device)) results.push_back(std::move(r));
  print_results(f, results, checkpoint, data.num_items() - data.first_item_id());
}
}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "ranking evaluation of a trained model beside the baselines");
  auto f = std::make_shared<EvaluateFlags>();
  add_evaluate_flags(*cmd, *f);
  cmd->callback([f] { run_evaluate(*f); });
}

}  // namespace seqrec::cli
