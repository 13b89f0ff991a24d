#include <cstdio>

#include "commands.h"
#include "seqrec/common/runtime.h"
#include "seqrec/etl/session_dataset.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/trainer.h"

namespace seqrec::cli {

namespace {
struct TrainFlags {
  std::string data, run, ks = "10,20";
  model::ModelConfig model;
  train::TrainOptions train;
  RuntimeFlags runtime;
};
}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train the GPT-2 causal next-item transformer on an ETL output");
  auto f = std::make_shared<TrainFlags>();
  cmd->add_option("--data,-d", f->data, "ETL output folder")->required();
  cmd->add_option("--run,-r", f->run, "run folder: config.json, checkpoint.pt, metrics.jsonl")->required();
  cmd->add_option("--d-model", f->model.d_model, "hidden size")->capture_default_str()->group("Model");
  cmd->add_option("--heads", f->model.num_heads, "attention heads")->capture_default_str()->group("Model");
  cmd->add_option("--layers", f->model.num_layers, "transformer blocks")->capture_default_str()->group("Model");
  cmd->add_option("--dropout", f->model.dropout, "dropout probability")->capture_default_str()->group("Model");
  cmd->add_option("--max-length", f->model.max_length, "longest input sequence")->capture_default_str()->group("Model");
  cmd->add_option("--lr", f->train.learning_rate, "AdamW learning rate")->capture_default_str()->group("Training");
  cmd->add_option("--weight-decay", f->train.weight_decay, "AdamW weight decay")->capture_default_str()->group("Training");
  cmd->add_option("--batch-size", f->train.batch_size, "sessions per step")->capture_default_str()->group("Training");
  cmd->add_option("--epochs", f->train.epochs, "passes over the training sessions")->capture_default_str()->group("Training");
  cmd->add_option("--seed", f->train.seed, "random seed")->capture_default_str()->group("Training");
  cmd->add_option("--k", f->ks, "cut-offs for validation metrics")->capture_default_str()->group("Training");
  cmd->add_option("--select-metric", f->train.select_metric, "valid metric that picks the kept checkpoint")
      ->capture_default_str()->group("Training");
  f->runtime.add_to(*cmd);
  cmd->callback([f] {
    set_threads(f->runtime.threads);
    f->train.device = f->runtime.device;
    f->train.ks = parse_k_list(f->ks, "--k");
    const std::filesystem::path data(f->data);
    auto schema = schema::Schema::load(data / "schema.json");
    f->model.num_items = schema.item_column().cardinality;
    auto train = etl::read_sessions(data / "sessions" / "train");
    auto valid = etl::read_sessions(data / "sessions" / "valid");
    std::fprintf(stderr, "[train] %lld train and %lld valid sessions, %lld item ids\n", static_cast<long long>(train.size()),
                 static_cast<long long>(valid.size()), static_cast<long long>(f->model.num_items));
    train::Trainer trainer(f->model, f->train);
    auto result = trainer.fit(train, valid, f->run, schema.fingerprint());
    std::fprintf(stderr, "[train] done in %.1f s; best epoch %lld (%s %.4f), kept in %s/checkpoint.pt\n", result.seconds,
                 static_cast<long long>(result.best_epoch), f->train.select_metric.c_str(), result.best_metric, f->run.c_str());
  });
}

}  // namespace seqrec::cli
