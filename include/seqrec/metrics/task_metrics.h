#pragma once
#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "seqrec/metrics/evaluator.h"
#include "seqrec/model/model_config.h"
#include "seqrec/schema/session_dataset.h"

namespace seqrec::metrics {

/// A session-level task as the evaluator sees it: the column it predicts and whether it is binary.
struct SessionTask {
  std::string target;
  bool binary = false;
};

/// The session tasks of a model config.
std::vector<SessionTask> session_tasks(const model::ModelConfig& config);

/// The tasks' outputs for whole sessions, [B] each in task order (model::SessionModel::task_outputs).
using TaskScorer = std::function<std::vector<at::Tensor>(const model::PrefixBatch& batch)>;

/// Area under the ROC curve of `scores` against 0/1 `labels` (ties share their ranks: Mann-Whitney U / (P * N)).
/// 0.5 when one class is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<double>& labels);

/// Session-task metrics over every session of `sessions` (the whole session is the input, its last max_length
/// items, as prediction sees it): "<target>/auc" and "<target>/logloss" for a binary task (probabilities clipped to
/// [1e-7, 1 - 1e-7]), "<target>/rmse" and "<target>/mae" for a regression.
std::map<std::string, double> evaluate_session_tasks(const schema::SessionTable& sessions, const std::vector<SessionTask>& tasks,
                                                     const TaskScorer& scorer, const EvaluatorOptions& options);

}  // namespace seqrec::metrics
