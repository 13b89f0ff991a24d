#include "seqrec/metrics/evaluator.h"

#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <unordered_set>

#include "seqrec/common/error.h"
#include "seqrec/metrics/ranking.h"

namespace seqrec::metrics {

namespace {
}

const Choices<Protocol>& protocol_choices() {
  static const Choices<Protocol> c = {
      {"last-item", Protocol::kLastItem}, {"every-prefix", Protocol::kEveryPrefix}, {"leave-one-out", Protocol::kLeaveOneOut}};
  return c;
}

Protocol parse_protocol(const std::string& name, const std::string& option) { return parse_choice(protocol_choices(), name, option); }

std::string to_string(Protocol protocol) { return choice_name(protocol_choices(), protocol); }

nlohmann::json EvaluationResult::to_json() const {
  nlohmann::json m(metrics);
  return {{"name", name},       {"protocol", protocol},     {"sampled", sampled},
          {"predictions", predictions}, {"unscorable_targets", unscorable_targets},
          {"seconds", seconds}, {"metrics", m}, {"task_metrics", nlohmann::json(task_metrics)}};
}

Evaluator::Evaluator(EvaluatorOptions options) : options_(std::move(options)) {
  SEQREC_CHECK(!options_.ks.empty(), "--k needs at least one value");
  for (int64_t k : options_.ks) SEQREC_CHECK(k > 0, "--k values must be > 0, got ", k);
  SEQREC_CHECK(options_.batch_size > 0, "evaluation batch size must be > 0");
  SEQREC_CHECK(options_.sampled_negatives >= 0, "--sampled-negatives must be >= 0 (0 = full ranking), got ",
               options_.sampled_negatives);
  SEQREC_CHECK(options_.holdout_offset >= 0, "--holdout-offset must be >= 0, got ", options_.holdout_offset);
  // Contradictory combinations are refused rather than ignored.
  SEQREC_CHECK(options_.holdout_offset == 0 || options_.protocol == Protocol::kLeaveOneOut,
               "--holdout-offset ", options_.holdout_offset, " needs --protocol leave-one-out (the protocol is ",
               to_string(options_.protocol), ")");
}

std::string Evaluator::describe() const {
  std::string d = to_string(options_.protocol);
  if (options_.protocol == Protocol::kLeaveOneOut && options_.holdout_offset > 0)
    d += " (item " + std::to_string(options_.holdout_offset + 1) + " from the end)";
  d += options_.sampled_negatives > 0
           ? ", " + std::to_string(options_.sampled_negatives) + " sampled negatives (sampled, not full ranking)"
           : ", full ranking";
  if (options_.exclude_seen) d += ", seen items excluded";
  return d;
}

std::vector<Prediction> list_predictions(const schema::SessionTable& sessions, const EvaluatorOptions& options) {
  std::vector<Prediction> out;
  for (int64_t r = 0; r < sessions.size(); ++r) {
    const int64_t n = sessions.length(r);
    switch (options.protocol) {
      case Protocol::kLastItem:
        if (n >= 2) out.push_back({r, n - 1});
        break;
      case Protocol::kEveryPrefix:
        for (int64_t t = 1; t < n; ++t) out.push_back({r, t});
        break;
      case Protocol::kLeaveOneOut:
        if (n - options.holdout_offset >= 2) out.push_back({r, n - 1 - options.holdout_offset});
        break;
    }
  }
  return out;
}

model::PrefixBatch make_prediction_batch(const schema::SessionTable& sessions, const std::vector<Prediction>& predictions,
                                         int64_t max_length, c10::Device device, const model::BatchColumns& columns) {
  const int64_t B = static_cast<int64_t>(predictions.size());
  int64_t L = 1;
  for (const auto& p : predictions) L = std::max(L, std::min(max_length, p.target));
  std::vector<int64_t> items(B * L, 0), lengths(B), targets(B);
  std::vector<model::SessionSlice> slices(B);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = sessions.items_of(predictions[b].row);
    const int64_t end = predictions[b].target;
    const int64_t keep = std::min(end, max_length);
    std::copy(s + end - keep, s + end, items.begin() + b * L);
    lengths[b] = keep;
    targets[b] = s[end];
    slices[b] = {predictions[b].row, end - keep, end};
  }
  auto to = [&](std::vector<int64_t>& v, std::vector<int64_t> shape) {
    return torch::from_blob(v.data(), shape, torch::kLong).to(device, /*non_blocking=*/false, /*copy=*/true);
  };
  model::PrefixBatch batch{to(items, {B, L}), to(lengths, {B}), to(targets, {B}), {}};
  model::add_side_columns(sessions, slices, L, columns, device, batch.features, nullptr);
  return batch;
}

namespace {

/// scores [B, V] with every prediction's visible history (all of it, not only the last max_length items the scorer
/// saw) at -inf, the target excepted.
at::Tensor without_seen(at::Tensor scores, const schema::SessionTable& sessions, const std::vector<Prediction>& chunk) {
  const int64_t V = scores.size(1);
  std::vector<int64_t> rows, cols;
  for (size_t b = 0; b < chunk.size(); ++b) {
    const int64_t* s = sessions.items_of(chunk[b].row);
    const int64_t target = s[chunk[b].target];
    for (int64_t t = 0; t < chunk[b].target; ++t)
      if (s[t] != target && s[t] >= 0 && s[t] < V) {
        rows.push_back(static_cast<int64_t>(b));
        cols.push_back(s[t]);
      }
  }
  if (rows.empty()) return scores;
  scores = scores.clone();
  auto r = torch::tensor(rows, torch::kLong).to(scores.device());
  auto c = torch::tensor(cols, torch::kLong).to(scores.device());
  scores.index_put_({r, c}, -std::numeric_limits<float>::infinity());
  return scores;
}

/// Marks in `recommended` [V] every item that reached some top-k list of scores [B, V].
// best_position[item]: the best (smallest) position the item reached in any top-K list so far, K the largest k;
// coverage@k counts the items whose best position is below k.
void mark_recommended(const at::Tensor& scores, int64_t top_k, std::vector<int32_t>& best_position) {
  const int64_t V = scores.size(1);
  if (best_position.empty()) best_position.assign(V, std::numeric_limits<int32_t>::max());
  const int64_t K = std::min(top_k, V);
  auto top = scores.topk(K, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
  const auto top_ids = std::get<1>(top).to(torch::kCPU).contiguous();
  const auto top_scores = std::get<0>(top).to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t* tp = top_ids.data_ptr<int64_t>();
  const float* sp = top_scores.data_ptr<float>();
  for (int64_t i = 0; i < top_ids.numel(); ++i)
    if (sp[i] > -std::numeric_limits<float>::infinity())
      best_position[tp[i]] = std::min(best_position[tp[i]], static_cast<int32_t>(i % K));
}

}  // namespace

at::Tensor Evaluator::sampled_negatives(const schema::SessionTable& sessions, const std::vector<Prediction>& chunk, int64_t V,
                                        std::mt19937_64& rng) const {
  const int64_t N = options_.sampled_negatives, B = static_cast<int64_t>(chunk.size());
  SEQREC_CHECK(V - options_.first_item_id > N, "--sampled-negatives ", N, " needs a catalogue of more items than that (have ",
               V - options_.first_item_id, ")");
  std::vector<int64_t> negatives(B * N);
  std::uniform_int_distribution<int64_t> pick(options_.first_item_id, V - 1);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t* s = sessions.items_of(chunk[b].row);
    // Negatives are items the user has not interacted with, visible history or later (SASRec's rule).
    std::unordered_set<int64_t> seen(s, s + sessions.length(chunk[b].row));
    for (int64_t j = 0; j < N; ++j) {
      int64_t id;
      do id = pick(rng);
      while (seen.count(id));
      negatives[b * N + j] = id;
    }
  }
  return torch::from_blob(negatives.data(), {B, N}, torch::kLong).clone();
}

EvaluationResult Evaluator::evaluate(const schema::SessionTable& sessions, const Scorer& scorer, const std::string& name) const {
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  RankingMeter meter(options_.ks);
  EvaluationResult result;
  result.name = name;
  result.protocol = describe();
  result.sampled = options_.sampled_negatives > 0;
  const int64_t top_k = *std::max_element(options_.ks.begin(), options_.ks.end());
  std::vector<int32_t> best_position;  // coverage: the best top-K position each item reached
  std::mt19937_64 rng(options_.seed);

  const auto predictions = list_predictions(sessions, options_);
  for (size_t start_index = 0; start_index < predictions.size(); start_index += options_.batch_size) {
    const size_t end_index = std::min(predictions.size(), start_index + static_cast<size_t>(options_.batch_size));
    std::vector<Prediction> chunk(predictions.begin() + start_index, predictions.begin() + end_index);
    auto batch = make_prediction_batch(sessions, chunk, options_.max_length, options_.device, options_.columns);
    auto scores = scorer(batch);
    SEQREC_ASSERT(scores.dim() == 2 && scores.size(0) == static_cast<int64_t>(chunk.size()), "scorer returned ", scores.sizes());
    if (options_.exclude_seen) scores = without_seen(scores, sessions, chunk);
    std::vector<int64_t> ranks;
    if (options_.sampled_negatives > 0) {
      ranks = sampled_target_ranks(scores, batch.targets, sampled_negatives(sessions, chunk, scores.size(1), rng),
                                   options_.first_item_id);
    } else {
      ranks = target_ranks(scores, batch.targets, options_.first_item_id);
      mark_recommended(scores, top_k, best_position);
    }
    for (int64_t r : ranks) result.unscorable_targets += r == kMissRank;
    meter.add(ranks);
  }
  result.predictions = meter.count();
  result.metrics = meter.results();
  if (options_.sampled_negatives == 0 && !best_position.empty()) {
    const int64_t catalogue = std::max<int64_t>(1, static_cast<int64_t>(best_position.size()) - options_.first_item_id);
    for (int64_t k : options_.ks) {
      int64_t covered = 0;
      for (size_t id = options_.first_item_id; id < best_position.size(); ++id) covered += best_position[id] < k;
      result.metrics["coverage@" + std::to_string(k)] = static_cast<double>(covered) / static_cast<double>(catalogue);
    }
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string format_results_table(const std::vector<EvaluationResult>& results) {
  if (results.empty()) return "";
  std::string out = "protocol: " + results.front().protocol + "\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-16s", results.front().sampled ? "model (SAMPLED)" : "model");
  out += buf;
  for (const auto& [metric, value] : results.front().metrics) {
    std::snprintf(buf, sizeof buf, " %12s", metric.c_str());
    out += buf;
  }
  out += "  seconds\n";
  for (const auto& r : results) {
    std::snprintf(buf, sizeof buf, "%-16s", r.name.c_str());
    out += buf;
    for (const auto& [metric, value] : r.metrics) {
      std::snprintf(buf, sizeof buf, " %12.4f", value);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, "  %7.1f\n", r.seconds);
    out += buf;
  }
  for (const auto& r : results) {
    if (r.task_metrics.empty()) continue;
    out += "session tasks of " + r.name + " (whole sessions):";
    for (const auto& [metric, value] : r.task_metrics) {
      std::snprintf(buf, sizeof buf, " %s %.4f", metric.c_str(), value);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace seqrec::metrics
