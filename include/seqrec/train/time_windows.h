#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/model_config.h"
#include "seqrec/train/trainer.h"

namespace seqrec::train {

/// The time windows ETL wrote under `<data>/sessions/` (folders named day-0001, hour-0001, ...), in
/// chronological (= name) order; empty when the data is not windowed.
std::vector<std::string> list_time_windows(const std::filesystem::path& sessions_dir);

struct WindowResult {
  std::string train_window;  ///< trained on its `train` split
  std::string eval_window;   ///< evaluated on its `eval_split`
  metrics::EvaluationResult evaluation;
  double train_seconds = 0.0;
};

struct TimeWindowsResult {
  std::vector<WindowResult> windows;
  std::map<std::string, double> average;  ///< each metric averaged over the evaluated windows
  nlohmann::json to_json() const;
};

struct TimeWindowOptions {
  std::string eval_split = "valid";  ///< the next window's split that is evaluated, as Transformers4Rec does
  int64_t max_windows = 0;           ///< train on at most this many windows; 0 = all but the last
};

/// Transformers4Rec's incremental protocol: one model trained on window t (continuing from window t-1's
/// weights), then evaluated on window t+1, for every t; writes `<run>/<window>/` per window,
/// `<run>/checkpoint.pt` (the final model) and `<run>/windows.json` (per-window metrics and their average).
TimeWindowsResult run_time_windows(const std::filesystem::path& data_dir, const model::ModelConfig& model_config,
                                   const TrainOptions& train_options, const metrics::EvaluatorOptions& eval_options,
                                   const TimeWindowOptions& window_options, const std::filesystem::path& run_dir,
                                   const std::string& schema_fingerprint);

}  // namespace seqrec::train
