#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/baseline.h"
#include "seqrec/model/ensemble.h"
#include "seqrec/model/session_knn.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/checkpoint.h"

namespace seqrec::cli {

namespace {
struct EvaluateFlags {
  std::vector<std::string> ensemble;
  std::string data, run, checkpoint, split = "test", ks = "10,20", json, protocol = "last-item",
                                      baselines = "popularity";
  int64_t batch_size = 256, sampled_negatives = 0, holdout_offset = 0, max_length = 20;
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
}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "ranking evaluation of a trained model beside the baselines");
  auto f = std::make_shared<EvaluateFlags>();
  cmd->add_option("--data,-d", f->data, "ETL output folder")->required();
  cmd->add_option("--run,-r", f->run, "run folder (uses its checkpoint.pt); without --run or --checkpoint only baselines");
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint file instead of --run");
  cmd->add_option("--ensemble", f->ensemble,
                  "more run folders (repeatable) whose models are averaged with the first as probabilities; rows MODELxN");
  cmd->add_option("--split", f->split, "train, valid or test")->capture_default_str();
  cmd->add_option("--k", f->ks, "cut-offs")->capture_default_str();
  cmd->add_option("--protocol", f->protocol, "last-item, every-prefix (SR-GNN/GRU4Rec) or leave-one-out (SASRec)")
      ->capture_default_str()->group("Protocol");
  cmd->add_option("--holdout-offset", f->holdout_offset, "leave-one-out: 0 = last item, 1 = second to last")
      ->capture_default_str()->group("Protocol");
  cmd->add_flag("--exclude-seen", f->exclude_seen, "remove each prediction's history items from its ranking")->group("Protocol");
  cmd->add_option("--sampled-negatives", f->sampled_negatives,
                  "rank against N random unseen items instead of the full catalogue (reported as sampled)")
      ->capture_default_str()->group("Protocol");
  cmd->add_option("--seed", f->seed, "seed of the sampled negatives")->capture_default_str()->group("Protocol");
  cmd->add_option("--baselines", f->baselines, "comma list of popularity, markov, sknn (or none)")->capture_default_str();
  cmd->add_option("--max-length", f->max_length, "history items the baselines see when no model is given")->capture_default_str();
  cmd->add_option("--hybrid-sknn", f->hybrid_sknn,
                  "also rank by (1 - W) * the model's softmax + W * session kNN's vote (Jannach & Ludewig 2017): row MODEL+sknn")
      ->check(CLI::Range(0.0, 1.0));
  add_session_knn_flags(*cmd, f->knn, "session kNN (the baseline takes only neighbours and sample; it stays V-SkNN)");
  cmd->add_option("--json", f->json, "also write the results as JSON to this file (- for stdout)");
  cmd->add_option("--batch-size", f->batch_size, "predictions per scoring batch")->capture_default_str();
  f->runtime.add_to(*cmd);
  cmd->callback([f] {
    set_threads(f->runtime.threads);
    const auto device = parse_device(f->runtime.device);
    const std::filesystem::path data(f->data);
    SEQREC_CHECK(f->split == "train" || f->split == "valid" || f->split == "test", "--split must be train, valid or test; got '",
                 f->split, "'");
    metrics::EvaluatorOptions options;
    options.ks = parse_k_list(f->ks, "--k");
    options.batch_size = f->batch_size;
    options.device = device;
    options.protocol = metrics::parse_protocol(f->protocol);
    options.holdout_offset = f->holdout_offset;
    options.exclude_seen = f->exclude_seen;
    options.sampled_negatives = f->sampled_negatives;
    options.seed = f->seed;
    options.max_length = f->max_length;
    const auto baselines = split_names(f->baselines);
    for (const auto& name : baselines)
      SEQREC_CHECK(std::find(model::baseline_names().begin(), model::baseline_names().end(), name) !=
                       model::baseline_names().end(),
                   "--baselines: unknown baseline '", name, "'; known: popularity, markov, sknn, none");

    auto schema = schema::Schema::load(data / "schema.json");
    const int64_t num_items = schema.item_column().cardinality;
    std::vector<metrics::EvaluationResult> results;
    std::string checkpoint_name;
    auto sessions = etl::read_sessions(data / "sessions" / f->split);
    // The train split and the session kNN over it: read and built once. The hybrid's kNN takes every kNN flag;
    // the sknn baseline stays V-SkNN as Transformers4Rec ran it, so it is the same one unless STAN's are given.
    std::optional<etl::SessionTable> train;
    std::shared_ptr<model::SessionKnn> hybrid_knn, baseline_knn;
    auto train_sessions = [&]() -> const etl::SessionTable& {
      if (!train) train = etl::read_sessions(data / "sessions" / "train");
      return *train;
    };
    model::SessionKnnOptions v_sknn;
    v_sknn.neighbors = f->knn.neighbors;
    v_sknn.sample_size = f->knn.sample_size;
    auto session_knn = [&](bool for_hybrid) {
      auto& knn = for_hybrid || f->knn.is_plain() ? hybrid_knn : baseline_knn;
      if (!knn) knn = std::make_shared<model::SessionKnn>(train_sessions(), num_items, device, for_hybrid ? f->knn : v_sknn);
      return knn;
    };
    if (!f->run.empty() || !f->checkpoint.empty()) {
      const std::filesystem::path checkpoint =
          f->checkpoint.empty() ? std::filesystem::path(f->run) / "checkpoint.pt" : std::filesystem::path(f->checkpoint);
      checkpoint_name = checkpoint.string();
      auto loaded = train::load_checkpoint(checkpoint, device);
      train::check_schema_matches(loaded.meta, schema.fingerprint(), checkpoint, data / "schema.json");
      options.max_length = loaded.meta.model.max_length;
      metrics::Evaluator evaluator(options);
      std::vector<std::shared_ptr<model::SessionModel>> members{loaded.model};
      for (const auto& run : f->ensemble) {
        const auto member_checkpoint = std::filesystem::path(run) / "checkpoint.pt";
        auto member = train::load_checkpoint(member_checkpoint, device);
        train::check_schema_matches(member.meta, schema.fingerprint(), member_checkpoint, data / "schema.json");
        model::check_ensemble_member(*loaded.model, *member.model, "--ensemble " + member_checkpoint.string());
        members.push_back(member.model);
      }
      auto scores = [&](const model::PrefixBatch& b) { return model::ensemble_scores(members, b.items, b.lengths); };
      const std::string name =
          loaded.model->config().architecture + (members.size() > 1 ? "x" + std::to_string(members.size()) : "");
      results.push_back(evaluator.evaluate(sessions, scores, name));
      if (f->hybrid_sknn >= 0) {
        auto knn = session_knn(true);
        results.push_back(evaluator.evaluate(
            sessions, [&](const model::PrefixBatch& b) { return model::mix_with_knn(scores(b), knn->distribution(b), f->hybrid_sknn); },
            name + "+sknn"));
      }
    }
    SEQREC_CHECK(f->hybrid_sknn < 0 || !results.empty(), "--hybrid-sknn needs a model: give --run or --checkpoint");
    SEQREC_CHECK(f->ensemble.empty() || !results.empty(), "--ensemble needs a first model: give --run or --checkpoint");
    SEQREC_CHECK(!results.empty() || !baselines.empty(), "nothing to evaluate: give --run, --checkpoint or --baselines");
    if (!baselines.empty()) {
      metrics::Evaluator evaluator(options);
      for (const auto& name : baselines) {
        std::shared_ptr<model::ItemScorer> baseline;
        if (name == "sknn")
          baseline = session_knn(false);
        else
          baseline = model::make_baseline(name, train_sessions(), num_items, device);
        results.push_back(evaluator.evaluate(sessions, [&](const model::PrefixBatch& b) { return baseline->scores(b); }, name));
      }
    }
    std::printf("%s split: %lld predictions over %lld catalogue items; %lld targets unseen in train count as misses\n",
                f->split.c_str(), static_cast<long long>(results.front().predictions),
                static_cast<long long>(num_items - 3), static_cast<long long>(results.front().unscorable_targets));
    std::printf("%s", metrics::format_results_table(results).c_str());
    if (!f->json.empty()) {
      nlohmann::json all = nlohmann::json::array();
      for (const auto& r : results) all.push_back(r.to_json());
      nlohmann::json j = {{"split", f->split}, {"checkpoint", checkpoint_name}, {"protocol", results.front().protocol},
                          {"sampled", results.front().sampled}, {"results", all}};
      if (f->json == "-")
        std::cout << j.dump(2) << std::endl;
      else
        write_text_file_atomic(f->json, j.dump(2) + "\n");
    }
  });
}

}  // namespace seqrec::cli
