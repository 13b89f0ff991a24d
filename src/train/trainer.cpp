#include "seqrec/train/trainer.h"

#include <ATen/Parallel.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <optional>
#include <random>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/progress.h"
#include "seqrec/common/runtime.h"
#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/session_model.h"
#include "seqrec/train/checkpoint.h"
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
std::vector<int64_t> epoch_order(std::vector<int64_t> rows, uint64_t seed, int64_t epoch, const etl::SessionTable& table,
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
  if (o.optimizer == "adamw")
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

nlohmann::json TrainOptions::to_json() const {
  return {{"optimizer", optimizer},       {"learning_rate", learning_rate},
          {"weight_decay", weight_decay}, {"adam_beta1", adam_beta1},
          {"adam_beta2", adam_beta2},     {"schedule", schedule},
          {"warmup_steps", warmup_steps}, {"clip_grad_norm", clip_grad_norm},
          {"accumulation_steps", accumulation_steps}, {"epochs", epochs},
          {"max_steps", max_steps},       {"max_seconds", max_seconds},
          {"batch_size", batch_size},     {"bucket_by_length", bucket_by_length},
          {"seed", seed},                 {"device", device},
          {"precision", precision},
          {"replicas", replicas},
          {"eval_every", eval_every},     {"log_every", log_every},
          {"checkpoint_every", checkpoint_every}, {"patience", patience},
          {"select_metric", select_metric}, {"valid_protocol", valid_protocol},
          {"valid_exclude_seen", valid_exclude_seen}, {"eval_batch_size", eval_batch_size},
          {"ks", ks}};
}

void TrainOptions::update_from_json(const nlohmann::json& j, const std::string& source) {
  SEQREC_CHECK(j.is_object(), source, ": training options must be a JSON object");
  const auto known = to_json();
  for (const auto& [key, value] : j.items())
    SEQREC_CHECK(known.contains(key), source, ": unknown training option '", key, "' (known: ", [&] {
      std::string names;
      for (const auto& [k, v] : known.items()) names += (names.empty() ? "" : ", ") + k;
      return names;
    }(), ")");
  try {
    auto get = [&](const char* key, auto& field) {
      if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
    };
    get("optimizer", optimizer);
    get("learning_rate", learning_rate);
    get("weight_decay", weight_decay);
    get("adam_beta1", adam_beta1);
    get("adam_beta2", adam_beta2);
    get("schedule", schedule);
    get("warmup_steps", warmup_steps);
    get("clip_grad_norm", clip_grad_norm);
    get("accumulation_steps", accumulation_steps);
    get("epochs", epochs);
    get("max_steps", max_steps);
    get("max_seconds", max_seconds);
    get("batch_size", batch_size);
    get("bucket_by_length", bucket_by_length);
    get("seed", seed);
    get("device", device);
    get("precision", precision);
    get("replicas", replicas);
    get("eval_every", eval_every);
    get("log_every", log_every);
    get("checkpoint_every", checkpoint_every);
    get("patience", patience);
    get("select_metric", select_metric);
    get("valid_protocol", valid_protocol);
    get("valid_exclude_seen", valid_exclude_seen);
    get("eval_batch_size", eval_batch_size);
    get("ks", ks);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(source + ": a training option has the wrong type: " + e.what());
  }
}

std::vector<std::string> TrainOptions::problems() const {
  std::vector<std::string> p;
  if (optimizer != "adamw" && optimizer != "adam") p.push_back("--optimizer must be adamw or adam, got '" + optimizer + "'");
  if (schedule != "constant" && schedule != "linear" && schedule != "cosine")
    p.push_back("--schedule must be constant, linear or cosine, got '" + schedule + "'");
  if (valid_protocol != "last-item" && valid_protocol != "every-prefix" && valid_protocol != "leave-one-out")
    p.push_back("--valid-protocol must be last-item, every-prefix or leave-one-out, got '" + valid_protocol + "'");
  if (precision != "fp32" && precision != "bf16") p.push_back("--precision must be fp32 or bf16, got '" + precision + "'");
  if (epochs < 1 && max_steps < 1) p.push_back("--epochs must be >= 1 (or give --max-steps)");
  if (max_steps < 0) p.push_back("--max-steps must be >= 0");
  if (max_seconds < 0) p.push_back("--max-seconds must be >= 0 (0 = no budget)");
  if (batch_size < 1) p.push_back("--batch-size must be >= 1");
  if (accumulation_steps < 1) p.push_back("--accumulation-steps must be >= 1");
  if (replicas < 0) p.push_back("--replicas must be >= 0 (0 = automatic)");
  if (!(learning_rate > 0)) p.push_back("--lr must be > 0");
  if (weight_decay < 0) p.push_back("--weight-decay must be >= 0");
  if (warmup_steps < 0) p.push_back("--warmup-steps must be >= 0");
  if (clip_grad_norm < 0) p.push_back("--clip-grad-norm must be >= 0 (0 = off)");
  if (eval_every < 0 || log_every < 0 || checkpoint_every < 0 || patience < 0)
    p.push_back("--eval-every, --log-every, --checkpoint-every and --patience must be >= 0");
  if (ks.empty()) p.push_back("--k needs at least one value");
  for (int64_t k : ks)
    if (k < 1) p.push_back("--k values must be > 0, got " + std::to_string(k));
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

TrainResult Trainer::fit(const etl::SessionTable& train, const etl::SessionTable& valid, const std::filesystem::path& run_dir,
                         const std::string& schema_fingerprint, bool resume) {
  return fit(nullptr, train, valid, run_dir, schema_fingerprint, resume);
}

TrainResult Trainer::fit(std::shared_ptr<model::SessionModel> model, const etl::SessionTable& train,
                         const etl::SessionTable& valid, const std::filesystem::path& run_dir,
                         const std::string& schema_fingerprint, bool resume) {
  const TrainOptions& o = options_;
  const c10::Device device = parse_device(o.device);
  const Precision precision = parse_precision(o.precision, device);
  const Schedule schedule = parse_schedule(o.schedule);
  g_stop_signal = 0;
  seed_everything(o.seed);

  std::vector<int64_t> rows;
  for (int64_t r = 0; r < train.size(); ++r)
    if (train.length(r) >= 2) rows.push_back(r);
  SEQREC_CHECK(!rows.empty(), "no training session has 2 or more items; nothing to learn from");
  const int64_t batches_per_epoch = (static_cast<int64_t>(rows.size()) + o.batch_size - 1) / o.batch_size;
  const int64_t steps_per_epoch = (batches_per_epoch + o.accumulation_steps - 1) / o.accumulation_steps;
  const int64_t total_steps = o.max_steps > 0 ? o.max_steps : o.epochs * steps_per_epoch;

  if (!model) model = model::make_model(model_config_);
  model->to(device);
  auto optimizer = make_optimizer(*model, o);

  std::filesystem::create_directories(run_dir);
  CheckpointMeta meta{model_config_, schema_fingerprint, o.to_json()};
  const auto last_path = run_dir / "last.pt";
  const auto best_path = run_dir / "checkpoint.pt";

  // Progress: everything a resumed run needs to continue as if it had never stopped.
  int64_t epoch = 0, batch = 0, step = 0, best_step = 0, best_epoch = 0, evals_since_best = 0, last_eval_step = -1;
  // lowest(), not -infinity: JSON (the checkpoint's progress) has no infinities.
  double best_metric = std::numeric_limits<double>::lowest();
  bool stop_early = false, out_of_time = false;
  double window_loss = 0.0, eval_window_loss = 0.0;
  int64_t window_steps = 0, eval_window_steps = 0;
  std::vector<nlohmann::json> history;
  if (resume) {
    auto p = load_training_checkpoint(last_path, *model, *optimizer, device);
    for (const char* key : {"batch_size", "seed", "accumulation_steps", "optimizer"})
      SEQREC_CHECK(p.at("train_options").at(key) == o.to_json().at(key), "--resume: option ", key, " was ",
                   p.at("train_options").at(key).dump(), " in ", last_path.string(), " but is ", o.to_json().at(key).dump(),
                   " now; resume with the run's options (", (run_dir / "config.json").string(), ")");
    epoch = p.at("epoch");
    batch = p.at("batch");
    step = p.at("step");
    best_step = p.at("best_step");
    best_epoch = p.at("best_epoch");
    best_metric = p.at("best_metric");
    evals_since_best = p.at("evals_since_best");
    last_eval_step = p.at("last_eval_step");
    stop_early = p.at("stopped_early");
    window_loss = p.at("window_loss");
    window_steps = p.at("window_steps");
    eval_window_loss = p.at("eval_window_loss");
    eval_window_steps = p.at("eval_window_steps");
    history = p.at("history").get<std::vector<nlohmann::json>>();
    std::fprintf(stderr, "[train] resuming %s at epoch %lld, step %lld\n", last_path.string().c_str(),
                 static_cast<long long>(epoch + 1), static_cast<long long>(step));
  }
  // After a resume, so the copies start from the loaded weights.
  const int replica_count = resolve_replicas(static_cast<int>(o.replicas), device.is_cpu(), at::get_num_threads(),
                                             model_config_.num_items * model_config_.d_model);
  std::unique_ptr<Replicas> replicas;
  if (replica_count > 1) replicas = std::make_unique<Replicas>(model, replica_count, at::get_num_threads() / replica_count, precision);
  write_text_file_atomic(run_dir / "config.json", nlohmann::json{{"model", model_config_.to_json()}, {"train", o.to_json()},
                                                                 {"schema_fingerprint", schema_fingerprint}}
                                                          .dump(2) + "\n");
  // metrics.jsonl is rewritten from the progress, so a resumed run's log has no lines from after its checkpoint.
  std::ofstream metrics_log(run_dir / "metrics.jsonl", std::ios::trunc);
  for (const auto& entry : history) metrics_log << entry.dump() << "\n";
  metrics_log.flush();
  auto record = [&](const nlohmann::json& entry) {
    history.push_back(entry);
    metrics_log << entry.dump() << "\n" << std::flush;
  };

  auto progress = [&]() {
    return nlohmann::json{{"epoch", epoch}, {"batch", batch}, {"step", step}, {"best_step", best_step},
                          {"best_epoch", best_epoch}, {"best_metric", best_metric}, {"evals_since_best", evals_since_best},
                          {"last_eval_step", last_eval_step}, {"stopped_early", stop_early}, {"window_loss", window_loss}, {"window_steps", window_steps},
                          {"eval_window_loss", eval_window_loss}, {"eval_window_steps", eval_window_steps},
                          {"history", history}, {"train_options", o.to_json()}};
  };
  auto save_last = [&] {
    meta.epoch = epoch;
    meta.step = step;
    meta.best_metric = best_metric;
    save_training_checkpoint(last_path, *model, meta, *optimizer, progress());
  };

  metrics::EvaluatorOptions eval_options;
  eval_options.ks = o.ks;
  eval_options.batch_size = o.eval_batch_size;
  eval_options.max_length = model_config_.max_length;
  eval_options.protocol = metrics::parse_protocol(o.valid_protocol, "--valid-protocol");
  eval_options.exclude_seen = o.valid_exclude_seen;
  eval_options.device = device;
  metrics::Evaluator evaluator(eval_options);

  ProgressBar clock("[train]", 0, "");
  // `label_epoch`: the 1-based epoch the evaluation belongs to (the one just finished at an epoch's end).
  const int all_threads = at::get_num_threads();
  auto evaluate = [&](int64_t label_epoch) {
    IntraOpThreads eval_threads(all_threads);
    last_eval_step = step;
    nlohmann::json entry = {{"type", "valid"}, {"epoch", label_epoch}, {"step", step}};
    double selected;
    if (valid.size() > 0) {
      model->eval();
      auto scored = evaluator.evaluate(valid, [&](const model::PrefixBatch& b) {
        AutocastScope autocast(precision, device);
        return model->next_item_scores(b.items, b.lengths).to(at::kFloat);
      }, "valid");
      model->train();
      auto it = scored.metrics.find(o.select_metric);
      SEQREC_CHECK(it != scored.metrics.end(), "--select-metric '", o.select_metric,
                   "' is not computed; use ndcg@K, recall@K, mrr@K, map@K or precision@K with K among --k");
      selected = it->second;
      entry["metrics"] = scored.metrics;
      entry["protocol"] = scored.protocol;
      std::fprintf(stderr, "[valid] step %lld%s\n", static_cast<long long>(step), format_metrics(scored.metrics).c_str());
    } else {
      // Without a valid split the lowest recent training loss is kept.
      selected = eval_window_steps > 0 ? -eval_window_loss / eval_window_steps : std::numeric_limits<double>::lowest();
    }
    eval_window_loss = 0.0;
    eval_window_steps = 0;
    entry["selected"] = {{o.select_metric, selected}};
    record(entry);
    if (selected > best_metric) {
      best_metric = selected;
      best_step = step;
      best_epoch = label_epoch;
      evals_since_best = 0;
      meta.epoch = label_epoch;
      meta.step = step;
      meta.best_metric = selected;
      save_checkpoint(best_path, *model, meta, optimizer.get());
    } else if (o.patience > 0 && ++evals_since_best >= o.patience) {
      stop_early = true;
    }
    save_last();
    write_report(run_dir / "report.html", history, run_dir.filename().string());
  };

  TrainResult result;
  auto fill_result = [&] {
    result.best_metric = best_metric;
    result.best_step = best_step;
    result.best_epoch = best_epoch;
    result.steps = step;
    result.history = history;
    result.seconds = clock.elapsed_seconds();
    write_report(run_dir / "report.html", history, run_dir.filename().string());
  };
  model->train();
  // `batch` is always the next micro-batch of `epoch`: the data position a checkpoint saves.
  while (!stop_early && (o.max_steps > 0 ? step < o.max_steps : epoch < o.epochs)) {
    const auto order = epoch_order(rows, o.seed, epoch, train, o.batch_size, o.bucket_by_length);
    const std::string tag = "[train] epoch " + std::to_string(epoch + 1) +
                            (o.max_steps > 0 ? std::string() : "/" + std::to_string(o.epochs));
    ProgressBar bar(tag, static_cast<int64_t>(order.size()) - std::min<int64_t>(order.size(), batch * o.batch_size), "seq");
    std::vector<int64_t> batch_rows;
    double step_loss = 0.0;
    bool finished = false;
    while (batch < batches_per_epoch) {
      // With replicas the whole step keeps to their intra-op threads (see Replicas::threads_per_replica).
      std::optional<IntraOpThreads> step_threads;
      if (replicas) step_threads.emplace(replicas->threads_per_replica());
      const int64_t current = batch++;
      const int64_t begin = current * o.batch_size;
      const int64_t end = std::min<int64_t>(order.size(), begin + o.batch_size);
      batch_rows.assign(order.begin() + begin, order.begin() + end);
      const int64_t group_begin = current - current % o.accumulation_steps;
      const int64_t group_size = std::min(o.accumulation_steps, batches_per_epoch - group_begin);
      if (replicas) {
        // Each micro-batch's own seed: a resumed run draws the same dropout and masks without saved generators.
        const uint64_t micro_seed = o.seed * 1000003ULL + static_cast<uint64_t>(epoch) * 1000000007ULL + static_cast<uint64_t>(current);
        step_loss += replicas->backward(train, batch_rows, 1.0 / static_cast<double>(group_size), micro_seed);
      } else {
        auto items = model::make_training_batch(train, batch_rows, model->training_sequence_length(), device);
        at::Tensor loss;
        {
          AutocastScope autocast(precision, device);
          loss = model->training_loss(items) / static_cast<double>(group_size);
        }
        loss.backward();
        step_loss += loss.item<double>();
      }
      if (batch % o.accumulation_steps != 0 && batch != batches_per_epoch) {
        bar.update(end - begin);
        continue;
      }
      if (o.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), o.clip_grad_norm);
      const double lr = o.learning_rate * lr_multiplier(schedule, step, o.warmup_steps, total_steps);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      optimizer->step();
      optimizer->zero_grad();
      if (replicas) replicas->broadcast();
      ++step;
      window_loss += step_loss;
      ++window_steps;
      eval_window_loss += step_loss;
      ++eval_window_steps;
      char status[64];
      std::snprintf(status, sizeof status, "loss %.4f lr %.2e", window_loss / window_steps, lr);
      bar.update(end - begin, status);
      step_loss = 0.0;
      if (o.log_every > 0 && step % o.log_every == 0) {
        record({{"type", "train"}, {"epoch", epoch + 1}, {"step", step}, {"loss", window_loss / window_steps}, {"lr", lr},
                {"seconds", clock.elapsed_seconds()}});
        window_loss = 0.0;
        window_steps = 0;
      }
      out_of_time = o.max_seconds > 0 && clock.elapsed_seconds() >= o.max_seconds;
      finished = (o.max_steps > 0 && step >= o.max_steps) || out_of_time;
      if (o.eval_every > 0 && step % o.eval_every == 0 && !finished)
        evaluate(epoch + 1);
      else if (o.checkpoint_every > 0 && step % o.checkpoint_every == 0)
        save_last();
      if (step_callback_) step_callback_(step);
      if (g_stop_signal != 0) {
        save_last();
        bar.finish("stopped by signal " + std::to_string(g_stop_signal));
        std::fprintf(stderr, "[train] signal %d: state saved in %s; continue with --resume\n", static_cast<int>(g_stop_signal),
                     last_path.string().c_str());
        result.interrupted_by = g_stop_signal;
        result.stop_reason = "signal " + std::to_string(g_stop_signal);
        fill_result();
        return result;
      }
      if (finished || stop_early) break;
    }
    bar.finish();
    if (finished || stop_early) break;
    // The epoch is done: the position a checkpoint saves from here is the next epoch's start.
    ++epoch;
    batch = 0;
    if (o.eval_every == 0) evaluate(epoch);
  }
  if (last_eval_step != step && !stop_early) evaluate(batch == 0 ? epoch : epoch + 1);
  result.stop_reason = stop_early ? "early stopping" : out_of_time ? "time budget" : "finished";
  fill_result();
  return result;
}

}  // namespace seqrec::train
