#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

#include "seqrec/model/baseline.h"

namespace seqrec::model {

struct SessionKnnOptions {
  int64_t neighbors = 100;    ///< k: the most similar past sessions that vote
  int64_t sample_size = 500;  ///< candidates: the most recent past sessions sharing an item with the prefix
  // STAN's refinements (Garg et al. 2019) and VSTAN's idf (Ludewig et al. 2021); all 0 = plain V-SkNN.
  double prefix_decay = 0;    ///< lambda_spw: a prefix item j clicks back weighs exp(-j / it) instead of (i+1)/n
  double neighbor_decay = 0;  ///< lambda_inh: a neighbour's item d positions from the match votes exp(-d / it)
  double idf = 0;             ///< an item's votes times log(sessions / sessions holding it) ^ idf
  bool is_plain() const { return prefix_decay == 0 && neighbor_decay == 0 && idf == 0; }
};

/// Vector-multiplication session kNN (V-SkNN, Ludewig & Jannach 2018, a Transformers4Rec paper baseline).
/// Prefix item i of n weighs (i+1)/n, so recent clicks count more; a past session's similarity is the sum of
/// the weights of the prefix items it contains; the `neighbors` most similar of the `sample_size` most recent
/// candidate sessions vote for their items with their similarity. Ties are broken by popularity (a term far
/// below 1/n, the smallest difference two similarities can have). The options add STAN's exponential weights:
/// the match of a neighbour is where it holds the prefix's most recent shared item, and its items near the
/// match vote more (each distinct item by its nearest occurrence).
class SessionKnn : public ItemScorer {
 public:
  /// Over items first_item_id .. num_items-1 of `train` (the schema's item range).
  SessionKnn(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device,
             SessionKnnOptions options = {});
  at::Tensor scores(const PrefixBatch& batch) const override;
  std::string name() const override { return "sknn"; }
  /// The vote as a distribution: each prefix's scores over their sum, [B, num_items]; all 0 for a prefix that
  /// shares no item with a past session.
  at::Tensor distribution(const PrefixBatch& batch) const;
  /// Scores for one prefix (without the popularity tie-break), [num_items].
  std::vector<float> session_scores(const int64_t* items, int64_t length) const;

 private:
  at::Tensor votes(const PrefixBatch& batch) const;  ///< session_scores of each prefix, [B, num_items] on the CPU
  int64_t num_items_, first_item_id_;
  c10::Device device_;
  SessionKnnOptions options_;
  std::vector<std::vector<int64_t>> items_of_session_;  ///< per train row: its distinct items
  std::vector<std::vector<int64_t>> sequence_of_session_;  ///< per train row: its items in click order (neighbor_decay)
  std::vector<float> idf_;                               ///< per item: its vote factor (1 without idf)
  std::vector<std::vector<int64_t>> sessions_of_item_;  ///< train rows containing the item, most recent first
  std::vector<int64_t> recency_;                         ///< per train row: higher = more recent
  std::vector<float> tie_break_;
};

/// The hybrid of Jannach & Ludewig ("When recurrent neural networks meet the neighborhood", 2017):
/// (1 - weight) * softmax(model_scores) + weight * knn_distribution, [B, num_items]; -inf where the model scores -inf
/// (the reserved ids).
at::Tensor mix_with_knn(const at::Tensor& model_scores, const at::Tensor& knn_distribution, double weight);

}  // namespace seqrec::model
