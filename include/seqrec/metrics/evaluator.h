#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "seqrec/etl/session_dataset.h"
#include "seqrec/model/batch.h"

namespace seqrec::metrics {

/// Scores every catalogue item for each session prefix of a batch: [B, num_items], reserved ids at -inf.
using Scorer = std::function<at::Tensor(const model::PrefixBatch& batch)>;

struct EvaluatorOptions {
  std::vector<int64_t> ks{10, 20};
  int64_t batch_size = 256;
  int64_t max_length = 20;  ///< prefix items fed to the scorer (the last ones)
  c10::Device device = c10::Device(c10::kCPU);
};

struct EvaluationResult {
  std::string name;
  std::map<std::string, double> metrics;  ///< "ndcg@10" -> value
  int64_t predictions = 0;
  int64_t unscorable_targets = 0;  ///< targets that are padding, null or OOV: counted as misses
  nlohmann::json to_json() const;
};

/// Last-item evaluation with full ranking (DESIGN.md §4): each session's last item is the target.
class Evaluator {
 public:
  explicit Evaluator(EvaluatorOptions options);
  EvaluationResult evaluate(const etl::SessionTable& sessions, const Scorer& scorer, const std::string& name) const;
  const EvaluatorOptions& options() const { return options_; }

 private:
  EvaluatorOptions options_;
};

/// A results table: one row per result, one column per metric, written for a terminal.
std::string format_results_table(const std::vector<EvaluationResult>& results);

}  // namespace seqrec::metrics
