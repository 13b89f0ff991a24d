#include "seqrec/train/trainer.h"

#include <ATen/Parallel.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <random>

#include "seqrec/common/error.h"
#include "seqrec/common/options_reader.h"
#include "seqrec/common/io.h"
#include "seqrec/common/progress.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/metrics/task_metrics.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/session_model.h"
#include "seqrec/export/checkpoint.h"
#include "seqrec/train/fused_adam.h"
#include "seqrec/train/lr_schedule.h"
#include "seqrec/train/replicas.h"
#include "seqrec/train/report.h"

namespace seqrec::train {

namespace {
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void handle_stop_signal(int signal_number) { g_stop_signal = signal_number; }

/// The order of training rows in `epoch`: a function of (seed, epoch) only, so a resumed run sees the same.
/// With `bucket`, rows of similar length share batches (sorted within windows of 64 batches, then the full
/// batches shuffled): less padding, the same randomness for a given seed.
std::vector<int64_t> epoch_order(std::vector<int64_t> rows, uint64_t seed, int64_t epoch, const schema::SessionTable& table,
                                 int64_t batch_size, bool bucket) {
  std::mt19937_64 rng(seed * 1000003ULL + static_cast<uint64_t>(epoch) + 1);
  std::shuffle(rows.begin(), rows.end(), rng);
  if (!bucket) return rows;
  const size_t window = static_cast<size_t>(batch_size) * 64;
  for (size_t begin = 0; begin < rows.size(); begin += window) {
    auto end = rows.begin() + std::min(rows.size(), begin + window);
    std::stable_sort(rows.begin() + begin, end, [&](int64_t a, int64_t b) { return table.length(a) < table.length(b); });
  }
  const size_t full = rows.size() / batch_size;  // the last, partial batch stays last
  std::vector<size_t> blocks(full);
  std::iota(blocks.begin(), blocks.end(), 0);
  std::shuffle(blocks.begin(), blocks.end(), rng);
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (size_t b : blocks) out.insert(out.end(), rows.begin() + b * batch_size, rows.begin() + (b + 1) * batch_size);
  out.insert(out.end(), rows.begin() + full * batch_size, rows.end());
  return out;
}

/// Two parameter groups: weight decay on matrices only. Decaying biases and LayerNorm gains pulls them to 0,
/// which hurts and is what HuggingFace's trainer (Transformers4Rec's) avoids as well.
template <typename Optimizer, typename Options>
std::unique_ptr<torch::optim::Optimizer> make_grouped(model::SessionModel& model, const TrainOptions& o) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model.parameters())
    if (p.requires_grad()) (p.dim() >= 2 ? decay : no_decay).push_back(p);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  auto options = [&](double wd) {
    return std::make_unique<Options>(Options(o.learning_rate).betas({o.adam_beta1, o.adam_beta2}).weight_decay(wd));
  };
  if (!decay.empty()) groups.emplace_back(decay, options(o.weight_decay));
  if (!no_decay.empty()) groups.emplace_back(no_decay, options(0.0));
  return std::make_unique<Optimizer>(std::move(groups), Options(o.learning_rate));
}

/// LibTorch's fused Adam/AdamW kernels (bench/NOTES.md: measured faster); SEQREC_FUSED_OPTIMIZER=0 keeps
/// LibTorch's op-by-op step, for comparisons.
bool fused_optimizer_enabled() {
  const char* choice = std::getenv("SEQREC_FUSED_OPTIMIZER");
  return choice == nullptr || std::string(choice) != "0";
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(model::SessionModel& model, const TrainOptions& o) {
  const bool fused = fused_optimizer_enabled();
  if (o.optimizer == Optimizer::kAdamW)
    return fused ? make_grouped<FusedAdamW, torch::optim::AdamWOptions>(model, o)
                 : make_grouped<torch::optim::AdamW, torch::optim::AdamWOptions>(model, o);
  // Adam's decay is an L2 penalty.
  return fused ? make_grouped<FusedAdam, torch::optim::AdamOptions>(model, o)
               : make_grouped<torch::optim::Adam, torch::optim::AdamOptions>(model, o);
}

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::string line;
  char buf[64];
  for (const auto& [name, value] : metrics) {
    std::snprintf(buf, sizeof buf, "  %s %.4f", name.c_str(), value);
    line += buf;
  }
  return line;
}
}  // namespace

void request_stop(int signal_number) { g_stop_signal = signal_number; }

void install_stop_signal_handlers() {
  std::signal(SIGINT, handle_stop_signal);
  std::signal(SIGTERM, handle_stop_signal);
}

const Choices<Optimizer>& optimizer_choices() {
  static const Choices<Optimizer> c = {{"adamw", Optimizer::kAdamW}, {"adam", Optimizer::kAdam}};
  return c;
}

nlohmann::json TrainOptions::to_json() const {
  return {{"optimizer", choice_name(optimizer_choices(), optimizer)},       {"learning_rate", learning_rate},
          {"weight_decay", weight_decay}, {"adam_beta1", adam_beta1},
          {"adam_beta2", adam_beta2},     {"schedule", to_string(schedule)},
          {"warmup_steps", warmup_steps}, {"clip_grad_norm", clip_grad_norm},
          {"accumulation_steps", accumulation_steps}, {"epochs", epochs},
          {"max_steps", max_steps},       {"max_seconds", max_seconds},
          {"batch_size", batch_size},     {"bucket_by_length", bucket_by_length},
          {"seed", seed},                 {"device", device},
          {"precision", choice_name(precision_choices(), precision)},
          {"replicas", replicas},
          {"eval_every", eval_every},     {"log_every", log_every},
          {"checkpoint_every", checkpoint_every}, {"patience", patience},
          {"select_metric", select_metric}, {"valid_protocol", metrics::to_string(valid_protocol)},
          {"valid_exclude_seen", valid_exclude_seen}, {"eval_batch_size", eval_batch_size},
          {"ks", ks}};
}

void TrainOptions::update_from_json(const nlohmann::json& j, const std::string& origin, const std::string& path) {
  std::vector<std::string> problems;
  OptionsReader(j, path, origin, problems)
      .read_choice("optimizer", optimizer, optimizer_choices()).read("learning_rate", learning_rate).read("weight_decay", weight_decay)
      .read("adam_beta1", adam_beta1).read("adam_beta2", adam_beta2).read_choice("schedule", schedule, schedule_choices())
      .read("warmup_steps", warmup_steps).read("clip_grad_norm", clip_grad_norm)
      .read("accumulation_steps", accumulation_steps).read("epochs", epochs).read("max_steps", max_steps)
      .read("max_seconds", max_seconds).read("batch_size", batch_size).read("bucket_by_length", bucket_by_length)
      .read("seed", seed).read("device", device).read_choice("precision", precision, precision_choices()).read("replicas", replicas)
      .read("eval_every", eval_every).read("log_every", log_every).read("checkpoint_every", checkpoint_every)
      .read("patience", patience).read("select_metric", select_metric).read_choice("valid_protocol", valid_protocol, metrics::protocol_choices())
      .read("valid_exclude_seen", valid_exclude_seen).read("eval_batch_size", eval_batch_size).read("ks", ks)
      .finish();
  if (problems.empty()) return;
  std::string message = "invalid training options:";
  for (const auto& p : problems) message += "\n  - " + p;
  throw InvalidInput(message);
}

std::vector<std::string> TrainOptions::problems() const {
  std::vector<std::string> p;
  if (epochs < 1 && max_steps < 1) p.push_back("epochs (--epochs) must be >= 1 (or give max_steps, --max-steps), got " + std::to_string(epochs));
  if (max_steps < 0) p.push_back("max_steps (--max-steps) must be >= 0");
  if (max_seconds < 0) p.push_back("max_seconds (--max-seconds) must be >= 0 (0 = no budget)");
  if (batch_size < 1) p.push_back("batch_size (--batch-size) must be >= 1, got " + std::to_string(batch_size));
  if (accumulation_steps < 1) p.push_back("accumulation_steps (--accumulation-steps) must be >= 1");
  if (replicas < 0) p.push_back("replicas (--replicas) must be >= 0 (0 = automatic)");
  if (!(learning_rate > 0)) p.push_back("learning_rate (--learning-rate) must be > 0");
  if (weight_decay < 0) p.push_back("weight_decay (--weight-decay) must be >= 0");
  if (warmup_steps < 0) p.push_back("warmup_steps (--warmup-steps) must be >= 0");
  if (clip_grad_norm < 0) p.push_back("clip_grad_norm (--clip-grad-norm) must be >= 0 (0 = off)");
  {
    // Known before any data is read: the metric's name and its cut-off among the ks.
    const auto at = select_metric.find('@');
    const std::string metric = select_metric.substr(0, at);
    const bool known = metric == "ndcg" || metric == "recall" || metric == "mrr" || metric == "map" || metric == "precision";
    bool k_listed = false;
    if (at != std::string::npos)
      for (int64_t k : ks) k_listed = k_listed || select_metric.substr(at + 1) == std::to_string(k);
    if (!known || !k_listed)
      p.push_back("select_metric (--select-metric) '" + select_metric + "' is not computed; use ndcg@K, recall@K, mrr@K, "
                  "map@K or precision@K with K among ks (--k)");
  }
  if (eval_every < 0 || log_every < 0 || checkpoint_every < 0 || patience < 0)
    p.push_back("eval_every, log_every, checkpoint_every and patience (--eval-every, ...) must be >= 0");
  if (ks.empty()) p.push_back("ks (--ks) needs at least one value");
  for (int64_t k : ks)
    if (k < 1) p.push_back("ks (--ks) values must be > 0, got " + std::to_string(k));
  return p;
}

Trainer::Trainer(model::ModelConfig model, TrainOptions options) : model_config_(std::move(model)), options_(std::move(options)) {
  auto problems = options_.problems();
  for (const auto& p : model_config_.problems()) problems.push_back(p);
  if (!problems.empty()) {
    std::string msg = "invalid training configuration:";
    for (const auto& p : problems) msg += "\n  - " + p;
    throw InvalidInput(msg);
  }
}

TrainResult Trainer::fit(const schema::SessionTable& train, const schema::SessionTable& valid, const std::filesystem::path& run_dir,
                         const std::string& schema_fingerprint, bool resume) {
  return fit(nullptr, train, valid, run_dir, schema_fingerprint, resume);
}

namespace {

/// An exclusive lock on a run folder for as long as one trainer writes to it: a second trainer on the same folder
/// is refused instead of interleaving its checkpoints and log lines with the first's. The kernel drops the lock when
/// the process ends, however it ends.
class RunFolderLock {
 public:
  explicit RunFolderLock(const std::filesystem::path& run_dir) {
    const auto path = run_dir / ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    SEQREC_CHECK(fd_ >= 0, "cannot open '", path.string(), "' to lock the run folder");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw InvalidInput("run folder '" + run_dir.string() +
                         "' is in use by another seqrec train; wait for it or give another --run");
    }
  }
  ~RunFolderLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

/// Everything a resumed run needs to continue as if it had never stopped; saved in last.pt's progress.
struct TrainingState {
  int64_t epoch = 0, batch = 0, step = 0;  ///< `batch`: the next micro-batch of `epoch`, the data position saved
  int64_t best_step = 0, best_epoch = 0, evals_since_best = 0, last_eval_step = -1;
  double best_metric = std::numeric_limits<double>::lowest();  // lowest(), not -infinity: JSON has no infinities
  bool stopped_early = false;
  double window_loss = 0.0, eval_window_loss = 0.0;  ///< sums since the last train log line / the last evaluation
  int64_t window_steps = 0, eval_window_steps = 0;
  std::vector<nlohmann::json> history;  ///< the lines of metrics.jsonl

  nlohmann::json to_json(const TrainOptions& options) const {
    return {{"epoch", epoch}, {"batch", batch}, {"step", step}, {"best_step", best_step}, {"best_epoch", best_epoch},
            {"best_metric", best_metric}, {"evals_since_best", evals_since_best}, {"last_eval_step", last_eval_step},
            {"stopped_early", stopped_early}, {"window_loss", window_loss}, {"window_steps", window_steps},
            {"eval_window_loss", eval_window_loss}, {"eval_window_steps", eval_window_steps}, {"history", history},
            {"train_options", options.to_json()}};
  }
  static TrainingState from_json(const nlohmann::json& p) {
    TrainingState s;
    s.epoch = p.at("epoch");
    s.batch = p.at("batch");
    s.step = p.at("step");
    s.best_step = p.at("best_step");
    s.best_epoch = p.at("best_epoch");
    s.best_metric = p.at("best_metric");
    s.evals_since_best = p.at("evals_since_best");
    s.last_eval_step = p.at("last_eval_step");
    s.stopped_early = p.at("stopped_early");
    s.window_loss = p.at("window_loss");
    s.window_steps = p.at("window_steps");
    s.eval_window_loss = p.at("eval_window_loss");
    s.eval_window_steps = p.at("eval_window_steps");
    s.history = p.at("history").get<std::vector<nlohmann::json>>();
    return s;
  }
};

/// One call of Trainer::fit: the model, its optimizer and the run folder, stepped through epochs.
class FitRun {
 public:
  FitRun(const model::ModelConfig& config, const TrainOptions& options, std::shared_ptr<model::SessionModel> model,
         const schema::SessionTable& train, const schema::SessionTable& valid, const std::filesystem::path& run_dir,
         const std::string& schema_fingerprint, const std::function<void(int64_t)>& step_callback)
      : o_(options), config_(config), train_(train), valid_(valid), run_dir_(run_dir), step_callback_(step_callback),
        device_(parse_device(options.device)), precision_(options.precision),
        schedule_(options.schedule), model_(std::move(model)),
        meta_{config, schema_fingerprint, options.to_json()}, all_threads_(at::get_num_threads()) {
    require_precision(precision_, device_);
    for (int64_t r = 0; r < train.size(); ++r)
      if (train.length(r) >= 2) rows_.push_back(r);
    SEQREC_CHECK(!rows_.empty(), "no training session has 2 or more items; nothing to learn from");
    batches_per_epoch_ = (static_cast<int64_t>(rows_.size()) + o_.batch_size - 1) / o_.batch_size;
    const int64_t steps_per_epoch = (batches_per_epoch_ + o_.accumulation_steps - 1) / o_.accumulation_steps;
    total_steps_ = o_.max_steps > 0 ? o_.max_steps : o_.epochs * steps_per_epoch;
    if (!model_) model_ = model::make_model(config_);
    model_->to(device_);
    optimizer_ = make_optimizer(*model_, o_);
    std::filesystem::create_directories(run_dir_);
    lock_.emplace(run_dir_);
  }

  /// Continues from <run>/last.pt, which must come from the same options.
  void resume() {
    const auto path = last_path();
    require_same_model();
    auto p = artifacts::load_training_checkpoint(path, *model_, *optimizer_, device_);
    for (const char* key : {"batch_size", "seed", "accumulation_steps", "optimizer"})
      SEQREC_CHECK(p.at("train_options").at(key) == o_.to_json().at(key), "--resume: option ", key, " was ",
                   p.at("train_options").at(key).dump(), " in ", path.string(), " but is ", o_.to_json().at(key).dump(),
                   " now; resume with the run's options (", (run_dir_ / "config.json").string(), ")");
    state_ = TrainingState::from_json(p);
    std::fprintf(stderr, "[train] resuming %s at epoch %lld, step %lld\n", path.string().c_str(),
                 static_cast<long long>(state_.epoch + 1), static_cast<long long>(state_.step));
  }

  /// A resumed run keeps the model it began with: a different shape is named here, before the weights fail to load
  /// with a message that could only guess at damage.
  void require_same_model() const {
    const auto config_path = run_dir_ / "config.json";
    if (!std::filesystem::exists(config_path)) return;
    const auto stored = nlohmann::json::parse(read_text_file(config_path)).value("model", nlohmann::json::object());
    const auto now = config_.to_json();
    for (auto it = stored.begin(); it != stored.end(); ++it)
      SEQREC_CHECK(!now.contains(it.key()) || now.at(it.key()) == *it, "--resume: model ", it.key(), " was ", it->dump(), " in ",
                   config_path.string(), " but is ", now.contains(it.key()) ? now.at(it.key()).dump() : "absent",
                   " now; resume with the run's model (train --resume reuses it unless --train-config or a flag changes it)");
  }

  TrainResult run() {
    start();
    model_->train();
    while (!state_.stopped_early && (o_.max_steps > 0 ? state_.step < o_.max_steps : state_.epoch < o_.epochs)) {
      const bool epoch_done = run_epoch();
      if (g_stop_signal != 0) return finish(interrupted());
      if (!epoch_done) break;
      // The epoch is done: the position a checkpoint saves from here is the next epoch's start.
      ++state_.epoch;
      state_.batch = 0;
      if (o_.eval_every == 0) evaluate_and_checkpoint(state_.epoch);
    }
    if (state_.last_eval_step != state_.step && !state_.stopped_early)
      evaluate_and_checkpoint(state_.batch == 0 ? state_.epoch : state_.epoch + 1);
    TrainResult result;
    result.stop_reason = state_.stopped_early ? "early stopping" : out_of_time_ ? "time budget" : "finished";
    return finish(result);
  }

 private:
  std::filesystem::path last_path() const { return run_dir_ / "last.pt"; }

  /// After a resume: the replicas copy the loaded weights; config.json and metrics.jsonl restart from the state.
  void start() {
    const int replica_count = resolve_replicas(static_cast<int>(o_.replicas), device_.is_cpu(), all_threads_,
                                               config_.num_items * config_.d_model);
    if (replica_count > 1) replicas_ = std::make_unique<Replicas>(model_, replica_count, all_threads_ / replica_count, precision_);
    write_text_file_atomic(run_dir_ / "config.json", nlohmann::json{{"model", config_.to_json()}, {"train", o_.to_json()},
                                                                    {"schema_fingerprint", meta_.schema_fingerprint}}
                                                             .dump(2) + "\n");
    // Rewritten from the state, so a resumed run's log has no lines from after its checkpoint.
    metrics_log_.open(run_dir_ / "metrics.jsonl", std::ios::trunc);
    for (const auto& entry : state_.history) metrics_log_ << entry.dump() << "\n";
    metrics_log_.flush();
    metrics::EvaluatorOptions eval;
    eval.ks = o_.ks;
    eval.batch_size = o_.eval_batch_size;
    eval.max_length = config_.max_length;
    eval.protocol = o_.valid_protocol;
    eval.exclude_seen = o_.valid_exclude_seen;
    eval.device = device_;
    eval.first_item_id = config_.first_item_id;
    eval.columns = model_->batch_columns();
    evaluator_.emplace(eval);
    clock_.emplace("[train]", 0, "");  // the run's time (and --max-seconds) starts here
  }

  /// The rest of the current epoch, micro-batch by micro-batch; false when the run ends inside it (step or time
  /// budget, early stopping, a stop signal).
  bool run_epoch() {
    const auto order = epoch_order(rows_, o_.seed, state_.epoch, train_, o_.batch_size, o_.bucket_by_length);
    const std::string tag = "[train] epoch " + std::to_string(state_.epoch + 1) +
                            (o_.max_steps > 0 ? std::string() : "/" + std::to_string(o_.epochs));
    ProgressBar bar(tag, static_cast<int64_t>(order.size()) - std::min<int64_t>(order.size(), state_.batch * o_.batch_size), "seq");
    double step_loss = 0.0;
    while (state_.batch < batches_per_epoch_) {
      const int64_t current = state_.batch++;
      const int64_t begin = current * o_.batch_size;
      const int64_t end = std::min<int64_t>(order.size(), begin + o_.batch_size);
      step_loss += micro_batch_backward(std::vector<int64_t>(order.begin() + begin, order.begin() + end), current);
      if (state_.batch % o_.accumulation_steps != 0 && state_.batch != batches_per_epoch_) {
        bar.update(end - begin);
        continue;
      }
      const double lr = optimizer_step(step_loss);
      step_loss = 0.0;
      char status[64];
      std::snprintf(status, sizeof status, "loss %.4f lr %.2e", state_.window_loss / state_.window_steps, lr);
      bar.update(end - begin, status);
      if (o_.log_every > 0 && state_.step % o_.log_every == 0) log_training(lr);
      out_of_time_ = o_.max_seconds > 0 && clock_->elapsed_seconds() >= o_.max_seconds;
      const bool finished = (o_.max_steps > 0 && state_.step >= o_.max_steps) || out_of_time_;
      if (o_.eval_every > 0 && state_.step % o_.eval_every == 0 && !finished)
        evaluate_and_checkpoint(state_.epoch + 1);
      else if (o_.checkpoint_every > 0 && state_.step % o_.checkpoint_every == 0)
        save_last();
      if (step_callback_) step_callback_(state_.step);
      if (g_stop_signal != 0) {
        bar.finish("stopped by signal " + std::to_string(g_stop_signal));
        return false;
      }
      if (finished || state_.stopped_early) {
        bar.finish();
        return false;
      }
    }
    bar.finish();
    return true;
  }

  /// Forward and backward of one micro-batch (its share of the accumulation group); returns its loss.
  double micro_batch_backward(const std::vector<int64_t>& batch_rows, int64_t micro_batch) {
    const int64_t group_begin = micro_batch - micro_batch % o_.accumulation_steps;
    const double share = 1.0 / static_cast<double>(std::min(o_.accumulation_steps, batches_per_epoch_ - group_begin));
    if (replicas_) {
      // The whole step keeps to the replicas' intra-op threads (see Replicas::threads_per_replica). Each micro-batch
      // has its own seed: a resumed run draws the same dropout and masks without saved generators.
      IntraOpThreads step_threads(replicas_->threads_per_replica());
      const uint64_t micro_seed =
          o_.seed * 1000003ULL + static_cast<uint64_t>(state_.epoch) * 1000000007ULL + static_cast<uint64_t>(micro_batch);
      return replicas_->backward(train_, batch_rows, share, micro_seed);
    }
    auto batch = model::make_training_batch(train_, batch_rows, model_->training_sequence_length(), device_,
                                            model_->batch_columns());
    at::Tensor loss;
    {
      AutocastScope autocast(precision_, device_);
      loss = model_->training_loss(batch) * share;
    }
    loss.backward();
    return loss.item<double>();
  }

  /// Clips, sets the scheduled learning rate, steps and clears the gradients; returns the learning rate.
  double optimizer_step(double step_loss) {
    std::optional<IntraOpThreads> step_threads;
    if (replicas_) step_threads.emplace(replicas_->threads_per_replica());
    if (o_.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), o_.clip_grad_norm);
    const double lr = o_.learning_rate * lr_multiplier(schedule_, state_.step, o_.warmup_steps, total_steps_);
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
    optimizer_->step();
    optimizer_->zero_grad();
    if (replicas_) replicas_->broadcast();
    ++state_.step;
    state_.window_loss += step_loss;
    ++state_.window_steps;
    state_.eval_window_loss += step_loss;
    ++state_.eval_window_steps;
    return lr;
  }

  void log_training(double lr) {
    record({{"type", "train"}, {"epoch", state_.epoch + 1}, {"step", state_.step},
            {"loss", state_.window_loss / state_.window_steps}, {"lr", lr}, {"seconds", clock_->elapsed_seconds()}});
    state_.window_loss = 0.0;
    state_.window_steps = 0;
  }

  /// Scores valid (or, without one, takes the recent training loss), keeps the best checkpoint, counts patience,
  /// saves last.pt and the report. `label_epoch`: the 1-based epoch the evaluation belongs to.
  void evaluate_and_checkpoint(int64_t label_epoch) {
    IntraOpThreads eval_threads(all_threads_);
    state_.last_eval_step = state_.step;
    nlohmann::json entry = {{"type", "valid"}, {"epoch", label_epoch}, {"step", state_.step}};
    double selected;
    if (valid_.size() > 0) {
      model_->eval();
      auto scored = evaluator_->evaluate(valid_, [&](const model::PrefixBatch& b) {
        AutocastScope autocast(precision_, device_);
        return model_->next_item_scores(b).to(at::kFloat);
      }, "valid");
      scored.task_metrics = metrics::evaluate_session_tasks(valid_, metrics::session_tasks(model_->config()), [&](const model::PrefixBatch& b) {
        AutocastScope autocast(precision_, device_);
        return model_->task_outputs(b);
      }, evaluator_->options());
      model_->train();
      auto it = scored.metrics.find(o_.select_metric);
      SEQREC_ASSERT(it != scored.metrics.end(), "--select-metric '", o_.select_metric,
                   "' is not computed; use ndcg@K, recall@K, mrr@K, map@K or precision@K with K among --k");
      selected = it->second;
      entry["metrics"] = scored.metrics;
      if (!scored.task_metrics.empty()) entry["task_metrics"] = scored.task_metrics;
      entry["protocol"] = scored.protocol;
      std::fprintf(stderr, "[valid] step %lld%s\n", static_cast<long long>(state_.step), (format_metrics(scored.metrics) + format_metrics(scored.task_metrics)).c_str());
    } else {
      // Without a valid split the lowest recent training loss is kept.
      selected = state_.eval_window_steps > 0 ? -state_.eval_window_loss / state_.eval_window_steps
                                              : std::numeric_limits<double>::lowest();
    }
    state_.eval_window_loss = 0.0;
    state_.eval_window_steps = 0;
    entry["selected"] = {{o_.select_metric, selected}};
    record(entry);
    if (selected > state_.best_metric) {
      state_.best_metric = selected;
      state_.best_step = state_.step;
      state_.best_epoch = label_epoch;
      state_.evals_since_best = 0;
      meta_.epoch = label_epoch;
      meta_.step = state_.step;
      meta_.best_metric = selected;
      // Weights and config only: resuming reads last.pt, so the optimizer state would triple the file for nothing.
      artifacts::save_checkpoint(run_dir_ / "checkpoint.pt", *model_, meta_);
    } else if (o_.patience > 0 && ++state_.evals_since_best >= o_.patience) {
      state_.stopped_early = true;
    }
    save_last();
    write_report(run_dir_ / "report.html", state_.history, run_dir_.filename().string());
  }

  void save_last() {
    meta_.epoch = state_.epoch;
    meta_.step = state_.step;
    meta_.best_metric = state_.best_metric;
    artifacts::save_training_checkpoint(last_path(), *model_, meta_, *optimizer_, state_.to_json(o_));
  }

  void record(const nlohmann::json& entry) {
    state_.history.push_back(entry);
    metrics_log_ << entry.dump() << "\n" << std::flush;
  }

  /// A stop signal: the state goes to last.pt, to continue with --resume.
  TrainResult interrupted() {
    save_last();
    std::fprintf(stderr, "[train] signal %d: state saved in %s; continue with --resume\n", static_cast<int>(g_stop_signal),
                 last_path().string().c_str());
    TrainResult result;
    result.interrupted_by = g_stop_signal;
    result.stop_reason = "signal " + std::to_string(g_stop_signal);
    return result;
  }

  /// The result so far; the report is written once more.
  TrainResult finish(TrainResult result) {
    result.best_metric = state_.best_metric;
    result.best_step = state_.best_step;
    result.best_epoch = state_.best_epoch;
    result.steps = state_.step;
    result.history = state_.history;
    result.seconds = clock_->elapsed_seconds();
    write_report(run_dir_ / "report.html", state_.history, run_dir_.filename().string());
    return result;
  }

  const TrainOptions& o_;
  const model::ModelConfig& config_;
  const schema::SessionTable& train_;
  const schema::SessionTable& valid_;
  const std::filesystem::path run_dir_;
  std::optional<RunFolderLock> lock_;
  const std::function<void(int64_t)>& step_callback_;
  const c10::Device device_;
  const Precision precision_;
  const Schedule schedule_;
  std::shared_ptr<model::SessionModel> model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::unique_ptr<Replicas> replicas_;
  std::optional<metrics::Evaluator> evaluator_;
  artifacts::CheckpointMeta meta_;
  std::optional<ProgressBar> clock_;
  const int all_threads_;
  std::vector<int64_t> rows_;  ///< the training rows with 2 or more items
  int64_t batches_per_epoch_ = 0, total_steps_ = 0;
  TrainingState state_;
  std::ofstream metrics_log_;
  bool out_of_time_ = false;
};

}  // namespace

TrainResult Trainer::fit(std::shared_ptr<model::SessionModel> model, const schema::SessionTable& train,
                         const schema::SessionTable& valid, const std::filesystem::path& run_dir,
                         const std::string& schema_fingerprint, bool resume) {
  g_stop_signal = 0;
  seed_everything(options_.seed);
  FitRun run(model_config_, options_, std::move(model), train, valid, run_dir, schema_fingerprint, step_callback_);
  if (resume) run.resume();
  return run.run();
}

}  // namespace seqrec::train
