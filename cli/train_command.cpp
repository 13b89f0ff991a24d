#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "commands.h"
#include "seqrec/common/config_file.h"
#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/model/schema_features.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/schema/parquet_sessions.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/time_windows.h"
#include "seqrec/train/trainer.h"

namespace seqrec::cli {

namespace {
struct Resolved {
  model::ModelConfig model;
  train::TrainOptions train;
  bool max_length_given = false;  ///< by a flag or a config file; else the schema's item list length decides
};

struct TrainFlags {
  std::string data, run, config_file, ks = "10,20", window_eval_split = "valid";
  std::string features = "auto";  // --features: auto, none or a column list (model::features_from_schema)
  std::string model_config_file;  // --model-config: a model config (JSON or YAML) over the defaults and --train-config
  bool resume = false, time_windows = false, dump_config = false;
  int64_t max_windows = 0;
  Resolved values;  // what the flags say (defaults where not given)
  RuntimeFlags runtime;
  /// Copies a flag given on the command line over a value from the config file (flags > file > defaults).
  std::vector<std::pair<CLI::Option*, std::function<void(Resolved&)>>> overrides;
  CLI::Option* max_length_flag = nullptr;
};

template <typename T>
void add_model_flag(CLI::App* cmd, TrainFlags& f, const std::string& name, T model::ModelConfig::*member, const std::string& help) {
  auto* option = cmd->add_option(name, f.values.model.*member, help)->capture_default_str()->group("Model");
  f.overrides.emplace_back(option, [&f, member](Resolved& r) { r.model.*member = f.values.model.*member; });
}

// A named choice (an enum in the options): the flag takes its name, parsed once when the flags are applied, so a
// wrong name is refused with the choices and the nearest ("--optimizer must be adamw or adam, got 'adan' ...").
template <typename Options, typename E>
void add_choice_flag(CLI::App* cmd, TrainFlags& f, const std::string& name, const std::string& group, Options Resolved::*section,
                     E Options::*member, const Choices<E>& choices, const std::string& help) {
  auto text = std::make_shared<std::string>(choice_name(choices, f.values.*section.*member));
  auto* option = cmd->add_option(name, *text, help)->capture_default_str()->group(group);
  std::string key = option->get_name().substr(2);  // "--valid-protocol" names the key valid_protocol
  std::replace(key.begin(), key.end(), '-', '_');
  const std::string what = key + " (" + option->get_name() + ")";
  f.overrides.emplace_back(option, [text, section, member, &choices, what](Resolved& r) {
    r.*section.*member = parse_choice(choices, *text, what);
  });
}

template <typename T>
void add_train_flag(CLI::App* cmd, TrainFlags& f, const std::string& name, T train::TrainOptions::*member, const std::string& help) {
  auto* option = cmd->add_option(name, f.values.train.*member, help)->capture_default_str()->group("Training");
  f.overrides.emplace_back(option, [&f, member](Resolved& r) { r.train.*member = f.values.train.*member; });
}

// One model-config source (the --train-config "model" section, a --model-config file) merged over `r.model`; its
// unknown keys and wrong types are kept, naming the file, for the Trainer to list with every other problem.
void merge_model_source(Resolved& r, const nlohmann::json& source, const std::string& origin, const std::string& path,
                        std::vector<std::string>& source_problems) {
  model::ModelConfig::from_json_checked(source, path, origin, source_problems);
  r.max_length_given = r.max_length_given || (source.is_object() && source.contains("max_length"));
  auto merged = r.model.to_json();
  if (source.is_object()) merged.merge_patch(source);
  r.model = model::ModelConfig::from_json(merged);
}

Resolved resolve(TrainFlags& f) {
  Resolved r;
  std::vector<std::string> source_problems;
  // --resume continues the run as it was configured: its own config.json is the base the flags change.
  if (f.resume && f.config_file.empty() && f.model_config_file.empty() &&
      std::filesystem::exists(std::filesystem::path(f.run) / "config.json"))
    f.config_file = (std::filesystem::path(f.run) / "config.json").string();
  if (!f.config_file.empty()) {
    const nlohmann::json j = read_config_file(f.config_file);
    SEQREC_CHECK(j.is_object(), f.config_file, ": expected an object with \"model\" and/or \"train\" sections");
    for (auto it = j.begin(); it != j.end(); ++it)
      // Other sections (evaluate, published, comment, ...) belong to whoever else reads the file, e.g. bench/repro.sh.
      SEQREC_CHECK(it->is_object() || it->is_string(), f.config_file, ": section '", it.key(),
                   "' must be an object (model, train) or a string");
    if (j.contains("model")) merge_model_source(r, j.at("model"), f.config_file, "model", source_problems);
    if (j.contains("train")) r.train.update_from_json(j.at("train"), f.config_file, "train");
  }
  if (!f.model_config_file.empty())
    merge_model_source(r, model::ModelConfig::read_file(f.model_config_file), f.model_config_file, "", source_problems);
  for (auto& [option, apply] : f.overrides)
    if (option->count() > 0) apply(r);
  r.model.parse_problems = source_problems;  // the merged config's own parse problems are these, without their file
  r.max_length_given = r.max_length_given || f.max_length_flag->count() > 0;
  r.train.device = f.runtime.device;
  return r;
}

void add_train_flags(CLI::App& cmd, TrainFlags& f) {
  cmd.add_option("--data,-d", f.data, "ETL output folder")->required();
  cmd.add_option("--run,-r", f.run, "run folder: config.json, checkpoint.pt (best), last.pt, metrics.jsonl, report.html")
      ->required();
  cmd.add_option("--train-config", f.config_file,
                  "JSON file with \"model\" and \"train\" sections (a run's config.json works); flags override it");
  cmd.add_option("--model-config", f.model_config_file,
                  "model config file, JSON or YAML (.yaml/.yml), e.g. configs/models/bert_mlm.yaml; flags override it");
  cmd.add_flag("--resume", f.resume, "continue the run from <run>/last.pt");
  cmd.add_option("--features", f.features,
                 "side features from the data's schema: auto (the model config's, else every categorical and continuous "
                 "list or session column), none (item ids only), or a comma-separated list of columns")
      ->capture_default_str()->group("Model");
  cmd.add_flag("--dump-config", f.dump_config, "print the resolved configuration as JSON and exit");
  add_choice_flag(&cmd, f, "--architecture", "Model", &Resolved::model, &model::ModelConfig::architecture,
                  model::architecture_choices(), "model body: gpt2, bert, albert, electra, xlnet, transfo_xl, gru, lstm or sasrec");
  add_model_flag(&cmd, f, "--d-model", &model::ModelConfig::d_model, "hidden size");
  add_model_flag(&cmd, f, "--num-heads,--heads", &model::ModelConfig::num_heads, "attention heads");
  add_model_flag(&cmd, f, "--num-layers,--layers", &model::ModelConfig::num_layers, "transformer blocks");
  add_model_flag(&cmd, f, "--dropout", &model::ModelConfig::dropout, "dropout probability");
  add_model_flag(&cmd, f, "--max-length", &model::ModelConfig::max_length,
                 "longest input sequence (default: the schema's item list length, value_count.max)");
  f.max_length_flag = f.overrides.back().first;
  using T = train::TrainOptions;
  add_choice_flag(&cmd, f, "--optimizer", "Training", &Resolved::train, &T::optimizer, train::optimizer_choices(), "adamw or adam");
  add_train_flag(&cmd, f, "--learning-rate,--lr", &T::learning_rate, "peak learning rate");
  add_train_flag(&cmd, f, "--weight-decay", &T::weight_decay, "weight decay (not on biases and norms)");
  add_choice_flag(&cmd, f, "--schedule", "Training", &Resolved::train, &T::schedule, train::schedule_choices(),
                  "learning-rate schedule: constant, linear or cosine");
  add_train_flag(&cmd, f, "--warmup-steps", &T::warmup_steps, "linear warm-up steps");
  add_train_flag(&cmd, f, "--clip-grad-norm", &T::clip_grad_norm, "max gradient norm (0 = off)");
  add_train_flag(&cmd, f, "--accumulation-steps", &T::accumulation_steps, "micro-batches per optimizer step");
  add_train_flag(&cmd, f, "--batch-size", &T::batch_size, "sessions per micro-batch");
  add_train_flag(&cmd, f, "--epochs", &T::epochs, "passes over the training sessions");
  add_train_flag(&cmd, f, "--max-steps", &T::max_steps, "stop after N optimizer steps (0 = use --epochs)");
  add_train_flag(&cmd, f, "--max-seconds", &T::max_seconds, "wall-clock budget in seconds (0 = none)");
  add_train_flag(&cmd, f, "--seed", &T::seed, "random seed (CPU runs repeat exactly for a given --replicas)");
  add_choice_flag(&cmd, f, "--precision", "Training", &Resolved::train, &T::precision, precision_choices(),
                  "fp32, or bf16 autocast (a GPU, or a CPU with AVX512-BF16 or AMX)");
  add_train_flag(&cmd, f, "--replicas", &T::replicas,
                 "data-parallel model replicas, one per thread (0 = automatic: one per --threads up to 4 on CPU for small output layers, else 1)");
  add_train_flag(&cmd, f, "--eval-every", &T::eval_every, "evaluate every N steps (0 = each epoch)");
  add_train_flag(&cmd, f, "--log-every", &T::log_every, "log the training loss every N steps");
  add_train_flag(&cmd, f, "--checkpoint-every", &T::checkpoint_every, "write last.pt every N steps (0 = at evaluations)");
  add_train_flag(&cmd, f, "--patience", &T::patience, "early stopping: evaluations without improvement (0 = off)");
  add_train_flag(&cmd, f, "--select-metric", &T::select_metric, "valid metric that picks the kept checkpoint");
  add_choice_flag(&cmd, f, "--valid-protocol", "Training", &Resolved::train, &T::valid_protocol, metrics::protocol_choices(),
                  "last-item, every-prefix or leave-one-out");
  auto* seen = cmd.add_flag("--valid-exclude-seen", f.values.train.valid_exclude_seen, "exclude seen items in valid ranking")
                   ->group("Training");
  f.overrides.emplace_back(seen, [&f](Resolved& r) { r.train.valid_exclude_seen = f.values.train.valid_exclude_seen; });
  add_train_flag(&cmd, f, "--eval-batch-size", &T::eval_batch_size, "predictions per evaluation batch");
  auto* bucket = cmd.add_flag("--bucket-by-length", f.values.train.bucket_by_length,
                               "batch sessions of similar length together (less padding)")->group("Training");
  f.overrides.emplace_back(bucket, [&f](Resolved& r) { r.train.bucket_by_length = f.values.train.bucket_by_length; });
  auto* k_option = cmd.add_option("--ks,--k", f.ks, "cut-offs for validation metrics")->capture_default_str()->group("Training");
  f.overrides.emplace_back(k_option, [&f](Resolved& r) { r.train.ks = parse_k_list(f.ks, "--k"); });
  cmd.add_flag("--time-windows", f.time_windows,
                "Transformers4Rec protocol: train on window t of <data>/sessions/day-NNNN, evaluate on t+1")
      ->group("Time windows");
  cmd.add_option("--window-eval-split", f.window_eval_split, "split of window t+1 that is evaluated")
      ->capture_default_str()->group("Time windows");
  cmd.add_option("--max-windows", f.max_windows, "train on at most N windows (0 = all)")->capture_default_str()->group("Time windows");
  f.runtime.add_to(cmd);
}

/// Resolves the options and takes from the schema what the data decides: the catalogue, its first real item id and,
/// unless a flag or config file sets it, the sessions' own list length (ETL truncated them to at most that).
Resolved resolve_with_schema(TrainFlags& f, const schema::Schema& schema) {
  Resolved r = resolve(f);
  const auto& item = schema.item_column();
  r.model.num_items = item.cardinality;
  r.model.first_item_id = item.first_value_id;
  if (!r.max_length_given && item.max_length > 0) r.model.max_length = item.max_length;
  for (const auto& note : model::features_from_schema(r.model, schema, f.features)) std::fprintf(stderr, "[train] note: %s\n", note.c_str());
  return r;
}

/// --time-windows: train on window t, evaluate on t+1, print each window's row and their average.
void train_time_windows(const TrainFlags& f, const Resolved& r, const schema::Schema& schema) {
  metrics::EvaluatorOptions eval;
  eval.ks = r.train.ks;
  eval.batch_size = r.train.eval_batch_size;
  eval.max_length = r.model.max_length;
  eval.protocol = r.train.valid_protocol;
  eval.exclude_seen = r.train.valid_exclude_seen;
  eval.device = parse_device(r.train.device);
  eval.first_item_id = r.model.first_item_id;
  train::TimeWindowOptions windows{f.window_eval_split, f.max_windows};
  auto result = train::run_time_windows(f.data, r.model, r.train, eval, windows, f.run, schema.fingerprint());
  std::vector<metrics::EvaluationResult> rows;
  for (const auto& w : result.windows) rows.push_back(w.evaluation);
  metrics::EvaluationResult average;
  average.name = "average";
  average.protocol = rows.empty() ? "" : rows.front().protocol;
  average.metrics = result.average;
  rows.push_back(average);
  std::printf("time windows: trained on window t, evaluated on t+1 (%s split)\n%s", f.window_eval_split.c_str(),
              metrics::format_results_table(rows).c_str());
}

void train_on_splits(const TrainFlags& f, const Resolved& r, const schema::Schema& schema, train::Trainer& trainer) {
  const std::filesystem::path data(f.data);
  auto train = schema::read_split(data, "train");
  auto valid = schema::read_split(data, "valid");
  std::fprintf(stderr, "[train] %lld train and %lld valid sessions, %lld item ids\n", static_cast<long long>(train.size()),
               static_cast<long long>(valid.size()), static_cast<long long>(r.model.num_items));
  std::string features;
  for (const auto& feature : r.model.input.features) features += (features.empty() ? "" : ", ") + feature.name;
  std::fprintf(stderr, "[train] side features: %s\n", features.empty() ? "none (item ids only)" : features.c_str());
  train::install_stop_signal_handlers();
  auto result = trainer.fit(train, valid, f.run, schema.fingerprint(), f.resume);
  if (result.interrupted_by != 0) {
    // 128 + signal: what a shell reports for a process the signal ended, after the state was saved.
    std::fflush(nullptr);
    std::exit(128 + result.interrupted_by);
  }
  // Without a valid split the checkpoint kept is the one of the lowest recent training loss (fit keeps -loss).
  const bool by_valid = valid.size() > 0;
  std::fprintf(stderr, "[train] %s after %lld steps in %.1f s; best at step %lld (epoch %lld, %s %.4f), kept in %s/checkpoint.pt\n",
               result.stop_reason.c_str(), static_cast<long long>(result.steps), result.seconds,
               static_cast<long long>(result.best_step), static_cast<long long>(result.best_epoch),
               by_valid ? r.train.select_metric.c_str() : "training loss", by_valid ? result.best_metric : -result.best_metric,
               f.run.c_str());
}

void run_train(TrainFlags& f) {
  set_threads(f.runtime.threads);
  const auto schema = schema::Schema::load_folder(f.data);
  const Resolved r = resolve_with_schema(f, schema);
  train::Trainer trainer(r.model, r.train);  // validates every option before any data is read, --dump-config too
  if (f.dump_config) {
    std::cout << nlohmann::json{{"model", r.model.to_json()}, {"train", r.train.to_json()}}.dump(2) << std::endl;
    return;
  }
  if (f.time_windows)
    train_time_windows(f, r, schema);
  else
    train_on_splits(f, r, schema, trainer);
}
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a next-item model on an ETL output; resumable; time windows");
  auto f = std::make_shared<TrainFlags>();
  add_train_flags(*cmd, *f);
  cmd->callback([f] { run_train(*f); });
}

}  // namespace seqrec::cli
