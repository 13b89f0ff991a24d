#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/model_config.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/train/lr_schedule.h"

namespace seqrec::model {
class SessionModel;
}

namespace seqrec::train {

enum class Optimizer { kAdamW, kAdam };
const Choices<Optimizer>& optimizer_choices();  ///< adamw, adam

/// Training options. JSON keys (config files, config.json, checkpoints) are the snake_case field names; the
/// CLI flags are their kebab-case twins.
struct TrainOptions {
  Optimizer optimizer = Optimizer::kAdamW;  ///< adamw (decoupled weight decay) or adam (L2 penalty)
  double learning_rate = 1e-3;
  double weight_decay = 0.01;       ///< not applied to biases and normalisation weights (tensors of rank < 2)
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  Schedule schedule = Schedule::kConstant;  ///< lr_schedule.h
  int64_t warmup_steps = 0;
  double clip_grad_norm = 0.0;        ///< max global gradient L2 norm; 0 = no clipping
  int64_t accumulation_steps = 1;     ///< micro-batches summed per optimizer step
  int64_t epochs = 5;
  int64_t max_steps = 0;              ///< optimizer steps; > 0 stops there (and sizes the schedule) instead of epochs
  double max_seconds = 0.0;           ///< wall-clock budget: stop at the first step boundary past it; 0 = none.
                                      ///< The schedule still spans epochs or max_steps; a run it stops does not repeat.
  int64_t batch_size = 128;           ///< sessions per micro-batch
  bool bucket_by_length = false;      ///< batch sessions of similar length together (less padding, faster)
  uint64_t seed = 42;
  std::string device = "cpu";         ///< cpu, cuda, cuda:N or auto
  Precision precision = Precision::fp32;  ///< or bf16 (autocast: a GPU, or a CPU with AVX512-BF16/AMX)
  int64_t replicas = 0;               ///< data-parallel model replicas, one per thread (train/replicas.h); 0 = one
                                      ///< per intra-op thread up to 4 on CPU for small output layers, else 1
                                      ///< (resolve_replicas). Runs repeat for a given count.
  int64_t eval_every = 0;             ///< evaluate on valid every N steps; 0 = at the end of each epoch
  int64_t log_every = 50;             ///< a train line in metrics.jsonl every N steps
  int64_t checkpoint_every = 0;       ///< also write last.pt every N steps; 0 = only at evaluations and on stop
  int64_t patience = 0;               ///< stop after N evaluations without improvement; 0 = never stop early
  std::string select_metric = "ndcg@20";  ///< valid metric that picks the checkpoint kept (higher is better)
  metrics::Protocol valid_protocol = metrics::Protocol::kLastItem;
  bool valid_exclude_seen = false;
  int64_t eval_batch_size = 256;
  std::vector<int64_t> ks{10, 20};

  nlohmann::json to_json() const;
  /// Reads the keys present in `j` over the current values; unknown keys are an error naming them.
  /// `origin`: the file, `path`: the section the options sit in ("train"); every problem names both.
  void update_from_json(const nlohmann::json& j, const std::string& origin, const std::string& path = "");
  std::vector<std::string> problems() const;
};

struct TrainResult {
  int64_t best_step = 0;
  int64_t best_epoch = 0;
  double best_metric = 0.0;
  int64_t steps = 0;
  std::vector<nlohmann::json> history;  ///< the lines of metrics.jsonl
  std::string stop_reason;              ///< "finished", "early stopping", "time budget" or "signal N"
  int interrupted_by = 0;               ///< the signal that stopped the run (its state is in last.pt), else 0
  double seconds = 0.0;
};

/// Asks a running fit() to save `<run>/last.pt` at the next step boundary and return (what SIGINT and SIGTERM
/// do once install_stop_signal_handlers() ran). Safe to call from a signal handler.
void request_stop(int signal_number);
/// Routes SIGINT and SIGTERM to request_stop.
void install_stop_signal_handlers();

/// Trains a model::SessionModel on its own training_loss, evaluates on valid every epoch or N steps, keeps the
/// best checkpoint in `<run>/checkpoint.pt` and the resumable state in `<run>/last.pt`, and writes
/// `<run>/metrics.jsonl` and `<run>/report.html`.
class Trainer {
 public:
  Trainer(model::ModelConfig model, TrainOptions options);
  /// `resume`: continue from `<run>/last.pt` (same options) to the same result an uninterrupted run gives.
  TrainResult fit(const schema::SessionTable& train, const schema::SessionTable& valid, const std::filesystem::path& run_dir,
                  const std::string& schema_fingerprint, bool resume = false);
  /// Continues training `model` (e.g. the previous time window's), instead of a fresh one.
  TrainResult fit(std::shared_ptr<model::SessionModel> model, const schema::SessionTable& train, const schema::SessionTable& valid,
                  const std::filesystem::path& run_dir, const std::string& schema_fingerprint, bool resume = false);
  /// Called after every optimizer step with the step count (tests use it to interrupt a run).
  void set_step_callback(std::function<void(int64_t step)> callback) { step_callback_ = std::move(callback); }
  const TrainOptions& options() const { return options_; }

 private:
  model::ModelConfig model_config_;
  TrainOptions options_;
  std::function<void(int64_t)> step_callback_;
};

}  // namespace seqrec::train
