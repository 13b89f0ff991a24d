#include "seqrec/train/time_windows.h"

#include <algorithm>
#include <cstdio>

#include "seqrec/common/error.h"
#include "seqrec/common/io.h"
#include "seqrec/common/runtime.h"
#include "seqrec/model/session_model.h"
#include "seqrec/export/checkpoint.h"

namespace seqrec::train {

std::vector<std::string> list_time_windows(const std::filesystem::path& sessions_dir) {
  std::vector<std::string> windows;
  if (!std::filesystem::is_directory(sessions_dir)) return windows;
  for (const auto& entry : std::filesystem::directory_iterator(sessions_dir)) {
    const std::string name = entry.path().filename().string();
    const auto dash = name.find('-');
    if (!entry.is_directory() || dash == std::string::npos || dash + 1 == name.size()) continue;
    if (!std::all_of(name.begin() + dash + 1, name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    windows.push_back(name);
  }
  std::sort(windows.begin(), windows.end());  // zero-padded numbers: name order is time order
  return windows;
}

nlohmann::json TimeWindowsResult::to_json() const {
  nlohmann::json w = nlohmann::json::array();
  for (const auto& r : windows)
    w.push_back({{"train_window", r.train_window}, {"eval_window", r.eval_window}, {"train_seconds", r.train_seconds},
                 {"evaluation", r.evaluation.to_json()}});
  return {{"windows", w}, {"average", average}};
}

TimeWindowsResult run_time_windows(const std::filesystem::path& data_dir, const model::ModelConfig& model_config,
                                   const TrainOptions& train_options, const metrics::EvaluatorOptions& eval_options,
                                   const TimeWindowOptions& window_options, const std::filesystem::path& run_dir,
                                   const std::string& schema_fingerprint) {
  const auto sessions_dir = data_dir / "sessions";
  const auto windows = list_time_windows(sessions_dir);
  SEQREC_CHECK(windows.size() >= 2, "the time-window protocol needs at least 2 window folders (day-0001, day-0002, ...) "
               "under '", sessions_dir.string(), "', found ", windows.size(), "; run seqrec etl with time windows");
  Trainer trainer(model_config, train_options);
  std::shared_ptr<model::SessionModel> model = model::make_model(model_config);
  auto eval_with_features = eval_options;
  eval_with_features.columns = model->batch_columns();
  metrics::Evaluator evaluator(eval_with_features);
  TimeWindowsResult result;
  size_t count = windows.size() - 1;
  if (window_options.max_windows > 0) count = std::min<size_t>(count, window_options.max_windows);
  const schema::SessionTable no_valid;
  for (size_t t = 0; t < count; ++t) {
    std::fprintf(stderr, "[train] window %s -> evaluate on %s/%s\n", windows[t].c_str(), windows[t + 1].c_str(),
                 window_options.eval_split.c_str());
    auto train = schema::read_sessions(sessions_dir / windows[t] / "train");
    auto fitted = trainer.fit(model, train, no_valid, run_dir / windows[t], schema_fingerprint);
    model->eval();
    auto next = schema::read_sessions(sessions_dir / windows[t + 1] / window_options.eval_split);
    WindowResult w{windows[t], windows[t + 1], {}, fitted.seconds};
    w.evaluation = evaluator.evaluate(next, [&](const model::PrefixBatch& b) { return model->next_item_scores(b); },
                                      windows[t + 1]);
    result.windows.push_back(std::move(w));
  }
  for (const auto& w : result.windows)
    for (const auto& [name, value] : w.evaluation.metrics) result.average[name] += value / result.windows.size();
  artifacts::CheckpointMeta meta{model_config, schema_fingerprint, train_options.to_json()};
  artifacts::save_checkpoint(run_dir / "checkpoint.pt", *model, meta);
  write_text_file_atomic(run_dir / "windows.json", result.to_json().dump(2) + "\n");
  return result;
}

}  // namespace seqrec::train
