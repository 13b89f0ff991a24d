#include "seqrec/metrics/ranking.h"

#include <ATen/ATen.h>

#include <cmath>

#include "seqrec/common/error.h"

namespace seqrec::metrics {

double recall_at(int64_t rank, int64_t k) { return rank <= k ? 1.0 : 0.0; }
double ndcg_at(int64_t rank, int64_t k) { return rank <= k ? 1.0 / std::log2(static_cast<double>(rank) + 1.0) : 0.0; }
double mrr_at(int64_t rank, int64_t k) { return rank <= k ? 1.0 / static_cast<double>(rank) : 0.0; }
double precision_at(int64_t rank, int64_t k) { return rank <= k ? 1.0 / static_cast<double>(k) : 0.0; }
double map_at(int64_t rank, int64_t k) { return mrr_at(rank, k); }

namespace {
/// 1 + `higher` per row, or kMissRank where the target cannot be recommended.
std::vector<int64_t> ranks_from_counts(const at::Tensor& higher, const at::Tensor& targets, int64_t first_valid_id,
                                       int64_t num_items) {
  auto h = higher.to(at::kCPU).contiguous();
  auto t = targets.to(at::kCPU).contiguous();
  std::vector<int64_t> ranks(targets.size(0));
  const int64_t* hp = h.data_ptr<int64_t>();
  const int64_t* tp = t.data_ptr<int64_t>();
  for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = (tp[i] < first_valid_id || tp[i] >= num_items) ? kMissRank : 1 + hp[i];
  return ranks;
}

at::Tensor target_scores(const at::Tensor& scores, const at::Tensor& targets) {
  return scores.gather(1, targets.clamp(0, scores.size(1) - 1).unsqueeze(1));
}
}  // namespace

std::vector<int64_t> target_ranks(const at::Tensor& scores, const at::Tensor& targets, int64_t first_valid_id) {
  SEQREC_ASSERT(scores.dim() == 2 && targets.dim() == 1 && scores.size(0) == targets.size(0));
  auto higher = scores.gt(target_scores(scores, targets)).sum(1);
  return ranks_from_counts(higher, targets, first_valid_id, scores.size(1));
}

std::vector<int64_t> sampled_target_ranks(const at::Tensor& scores, const at::Tensor& targets, const at::Tensor& negatives,
                                          int64_t first_valid_id) {
  SEQREC_ASSERT(scores.dim() == 2 && negatives.dim() == 2 && negatives.size(0) == targets.size(0));
  auto negative_scores = scores.gather(1, negatives.to(scores.device()));
  auto higher = negative_scores.gt(target_scores(scores, targets)).sum(1);
  return ranks_from_counts(higher, targets, first_valid_id, scores.size(1));
}

RankingMeter::RankingMeter(std::vector<int64_t> ks)
    : ks_(std::move(ks)), ndcg_(ks_.size()), recall_(ks_.size()), mrr_(ks_.size()), precision_(ks_.size()) {
  for (int64_t k : ks_) SEQREC_CHECK(k > 0, "k must be > 0, got ", k);
}

void RankingMeter::add(int64_t rank) {
  for (size_t i = 0; i < ks_.size(); ++i) {
    ndcg_[i] += ndcg_at(rank, ks_[i]);
    recall_[i] += recall_at(rank, ks_[i]);
    mrr_[i] += mrr_at(rank, ks_[i]);
    precision_[i] += precision_at(rank, ks_[i]);
  }
  ++count_;
}

void RankingMeter::add(const std::vector<int64_t>& ranks) {
  for (int64_t r : ranks) add(r);
}

std::map<std::string, double> RankingMeter::results() const {
  std::map<std::string, double> out;
  const double n = count_ > 0 ? static_cast<double>(count_) : 1.0;
  for (size_t i = 0; i < ks_.size(); ++i) {
    const std::string k = "@" + std::to_string(ks_[i]);
    out["ndcg" + k] = ndcg_[i] / n;
    out["recall" + k] = recall_[i] / n;
    out["mrr" + k] = mrr_[i] / n;
    out["map" + k] = mrr_[i] / n;  // one relevant item: average precision is the reciprocal rank
    out["precision" + k] = precision_[i] / n;
  }
  return out;
}

}  // namespace seqrec::metrics
