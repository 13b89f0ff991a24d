#include "seqrec/metrics/evaluator.h"

#include <torch/types.h>

#include <cstdio>

#include "seqrec/common/error.h"
#include "seqrec/metrics/ranking.h"

namespace seqrec::metrics {

nlohmann::json EvaluationResult::to_json() const {
  nlohmann::json m(metrics);
  return {{"name", name}, {"predictions", predictions}, {"unscorable_targets", unscorable_targets}, {"metrics", m}};
}

Evaluator::Evaluator(EvaluatorOptions options) : options_(std::move(options)) {
  SEQREC_CHECK(!options_.ks.empty(), "--k needs at least one value");
  for (int64_t k : options_.ks) SEQREC_CHECK(k > 0, "--k values must be > 0, got ", k);
  SEQREC_CHECK(options_.batch_size > 0, "evaluation batch size must be > 0");
}

EvaluationResult Evaluator::evaluate(const etl::SessionTable& sessions, const Scorer& scorer, const std::string& name) const {
  torch::NoGradGuard no_grad;
  RankingMeter meter(options_.ks);
  EvaluationResult result;
  result.name = name;
  std::vector<int64_t> rows;
  auto flush = [&] {
    if (rows.empty()) return;
    auto batch = model::make_prefix_batch(sessions, rows, options_.max_length, /*hold_out_last=*/true, options_.device);
    auto ranks = target_ranks(scorer(batch), batch.targets);
    for (int64_t r : ranks) result.unscorable_targets += r == kMissRank;
    meter.add(ranks);
    rows.clear();
  };
  for (int64_t r = 0; r < sessions.size(); ++r) {
    if (sessions.length(r) < 2) continue;  // nothing to predict from
    rows.push_back(r);
    if (static_cast<int64_t>(rows.size()) == options_.batch_size) flush();
  }
  flush();
  result.predictions = meter.count();
  result.metrics = meter.results();
  return result;
}

std::string format_results_table(const std::vector<EvaluationResult>& results) {
  if (results.empty()) return "";
  std::string out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-14s", "model");
  out += buf;
  for (const auto& [metric, value] : results.front().metrics) {
    std::snprintf(buf, sizeof buf, " %10s", metric.c_str());
    out += buf;
  }
  out += "\n";
  for (const auto& r : results) {
    std::snprintf(buf, sizeof buf, "%-14s", r.name.c_str());
    out += buf;
    for (const auto& [metric, value] : r.metrics) {
      std::snprintf(buf, sizeof buf, " %10.4f", value);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace seqrec::metrics
