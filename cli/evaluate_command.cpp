#include <cstdio>
#include <iostream>

#include "commands.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/popularity.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/checkpoint.h"

namespace seqrec::cli {

namespace {
struct EvaluateFlags {
  std::string data, run, checkpoint, split = "test", ks = "10,20", json;
  int64_t batch_size = 256;
  RuntimeFlags runtime;
};
}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("evaluate", "last-item evaluation with full ranking, beside the most-popular baseline");
  auto f = std::make_shared<EvaluateFlags>();
  cmd->add_option("--data,-d", f->data, "ETL output folder")->required();
  cmd->add_option("--run,-r", f->run, "run folder (uses its checkpoint.pt)");
  cmd->add_option("--checkpoint", f->checkpoint, "a checkpoint file instead of --run");
  cmd->add_option("--split", f->split, "train, valid or test")->capture_default_str();
  cmd->add_option("--k", f->ks, "cut-offs")->capture_default_str();
  cmd->add_option("--json", f->json, "also write the results as JSON to this file (- for stdout)");
  cmd->add_option("--batch-size", f->batch_size, "sessions per scoring batch")->capture_default_str();
  f->runtime.add_to(*cmd);
  cmd->callback([f] {
    set_threads(f->runtime.threads);
    const auto device = parse_device(f->runtime.device);
    SEQREC_CHECK(!f->run.empty() || !f->checkpoint.empty(), "give --run DIR or --checkpoint FILE");
    const std::filesystem::path data(f->data);
    const std::filesystem::path checkpoint = f->checkpoint.empty() ? std::filesystem::path(f->run) / "checkpoint.pt" : std::filesystem::path(f->checkpoint);
    SEQREC_CHECK(f->split == "train" || f->split == "valid" || f->split == "test", "--split must be train, valid or test; got '",
                 f->split, "'");
    metrics::EvaluatorOptions options;
    options.ks = parse_k_list(f->ks, "--k");
    options.batch_size = f->batch_size;
    options.device = device;

    auto schema = schema::Schema::load(data / "schema.json");
    auto loaded = train::load_checkpoint(checkpoint, device);
    train::check_schema_matches(loaded.meta, schema.fingerprint(), checkpoint, data / "schema.json");
    options.max_length = loaded.meta.model.max_length;
    auto sessions = etl::read_sessions(data / "sessions" / f->split);
    auto train = etl::read_sessions(data / "sessions" / "train");

    metrics::Evaluator evaluator(options);
    auto model = loaded.model;
    auto ours = evaluator.evaluate(sessions, [&](const model::PrefixBatch& b) { return model->next_item_scores(b.items, b.lengths); },
                                   model->config().architecture);
    model::Popularity popularity(train, loaded.meta.model.num_items, device);
    auto baseline = evaluator.evaluate(sessions, [&](const model::PrefixBatch& b) { return popularity.scores(b.items.size(0)); },
                                       "popularity");
    std::printf("%s split: %lld sessions (last item held out, full ranking over %lld items; %lld targets unseen in train "
                "count as misses)\n",
                f->split.c_str(), static_cast<long long>(ours.predictions),
                static_cast<long long>(schema.item_column().cardinality - 3), static_cast<long long>(ours.unscorable_targets));
    std::printf("%s", metrics::format_results_table({ours, baseline}).c_str());
    if (!f->json.empty()) {
      nlohmann::json j = {{"split", f->split}, {"checkpoint", checkpoint.string()}, {"results", {ours.to_json(), baseline.to_json()}}};
      if (f->json == "-")
        std::cout << j.dump(2) << std::endl;
      else
        write_text_file_atomic(f->json, j.dump(2) + "\n");
    }
  });
}

}  // namespace seqrec::cli
