#include "seqrec/metrics/task_metrics.h"

#include <ATen/ops/from_blob.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "seqrec/common/error.h"

namespace seqrec::metrics {

std::vector<SessionTask> session_tasks(const model::ModelConfig& config) {
  std::vector<SessionTask> tasks;
  for (const auto& t : config.tasks) tasks.push_back({t.target, t.type == model::TaskType::kBinary});
  return tasks;
}

double roc_auc(const std::vector<double>& scores, const std::vector<double>& labels) {
  SEQREC_ASSERT(scores.size() == labels.size());
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // ranks i+1 .. j, tied
    for (size_t t = i; t < j; ++t)
      if (labels[order[t]] > 0.5) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    i = j;
  }
  const double negatives = static_cast<double>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  return (positive_rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives);
}

std::map<std::string, double> evaluate_session_tasks(const schema::SessionTable& sessions, const std::vector<SessionTask>& tasks,
                                                     const TaskScorer& scorer, const EvaluatorOptions& options) {
  std::map<std::string, double> out;
  if (tasks.empty() || sessions.size() == 0) return out;
  model::BatchColumns columns = options.columns;
  for (const auto& t : tasks) columns.task_targets.push_back(t.target);
  std::vector<std::vector<double>> predicted(tasks.size()), actual(tasks.size());
  for (int64_t start = 0; start < sessions.size(); start += options.batch_size) {
    std::vector<int64_t> rows(std::min(options.batch_size, sessions.size() - start));
    std::iota(rows.begin(), rows.end(), start);
    auto batch = model::make_prefix_batch(sessions, rows, options.max_length, /*hold_out_last=*/false, options.device, columns);
    model::FeatureMap no_features, targets;
    std::vector<model::SessionSlice> slices;
    for (int64_t r : rows) slices.push_back({r, 0, sessions.length(r)});
    model::add_side_columns(sessions, slices, 1, model::BatchColumns{{}, columns.task_targets}, c10::Device(c10::kCPU),
                            no_features, &targets);
    auto outputs = scorer(batch);
    SEQREC_ASSERT(outputs.size() == tasks.size(), "the model returned ", outputs.size(), " task outputs for ", tasks.size(), " tasks");
    for (size_t t = 0; t < tasks.size(); ++t) {
      auto p = outputs[t].to(c10::Device(c10::kCPU), at::kDouble).contiguous();
      auto y = targets.at(tasks[t].target).to(at::kDouble).contiguous();
      predicted[t].insert(predicted[t].end(), p.data_ptr<double>(), p.data_ptr<double>() + p.numel());
      actual[t].insert(actual[t].end(), y.data_ptr<double>(), y.data_ptr<double>() + y.numel());
    }
  }
  for (size_t t = 0; t < tasks.size(); ++t) {
    const auto& p = predicted[t];
    const auto& y = actual[t];
    const double n = static_cast<double>(p.size());
    if (tasks[t].binary) {
      double logloss = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        SEQREC_CHECK(y[i] == 0 || y[i] == 1, "binary task target '", tasks[t].target, "' holds ", y[i], " in session '",
                     sessions.session_ids[i], "'; a binary target is 0 or 1");
        const double q = std::clamp(p[i], 1e-7, 1 - 1e-7);
        logloss -= y[i] * std::log(q) + (1 - y[i]) * std::log(1 - q);
      }
      out[tasks[t].target + "/auc"] = roc_auc(p, y);
      out[tasks[t].target + "/logloss"] = logloss / n;
    } else {
      double squared = 0, absolute = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        squared += (p[i] - y[i]) * (p[i] - y[i]);
        absolute += std::abs(p[i] - y[i]);
      }
      out[tasks[t].target + "/rmse"] = std::sqrt(squared / n);
      out[tasks[t].target + "/mae"] = absolute / n;
    }
  }
  return out;
}

}  // namespace seqrec::metrics
