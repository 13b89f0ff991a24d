#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace seqrec::metrics {

/// Rank of a target that cannot be hit (e.g. an out-of-vocabulary item): a miss at every k.
constexpr int64_t kMissRank = std::numeric_limits<int64_t>::max();

/// DESIGN.md §4, one relevant item: rank is 1-based.
double recall_at(int64_t rank, int64_t k);
double ndcg_at(int64_t rank, int64_t k);
double mrr_at(int64_t rank, int64_t k);
double precision_at(int64_t rank, int64_t k);
/// Average precision at k with one relevant item: equal to MRR@k.
double map_at(int64_t rank, int64_t k);

/// rank = 1 + number of items scored strictly higher than the target. scores: [B, V] with reserved ids
/// at -inf; targets: [B]. Targets below `first_valid_id` (the schema's first item id: padding, null, OOV) get kMissRank.
std::vector<int64_t> target_ranks(const at::Tensor& scores, const at::Tensor& targets, int64_t first_valid_id);

/// Sampled protocol: the target's rank among itself and `negatives` [B, N] (ids), 1 + number of negatives
/// scored strictly higher. Reserved targets get kMissRank.
std::vector<int64_t> sampled_target_ranks(const at::Tensor& scores, const at::Tensor& targets, const at::Tensor& negatives,
                                          int64_t first_valid_id);

/// Averages ranking metrics over a stream of ranks, for each k.
class RankingMeter {
 public:
  explicit RankingMeter(std::vector<int64_t> ks);
  void add(int64_t rank);
  void add(const std::vector<int64_t>& ranks);
  int64_t count() const { return count_; }
  /// "ndcg@10", "recall@10", "mrr@10", "map@10", "precision@10" -> mean over the ranks added (0 when none).
  std::map<std::string, double> results() const;
  const std::vector<int64_t>& ks() const { return ks_; }

 private:
  std::vector<int64_t> ks_;
  std::vector<double> ndcg_, recall_, mrr_, precision_;
  int64_t count_ = 0;
};

}  // namespace seqrec::metrics
