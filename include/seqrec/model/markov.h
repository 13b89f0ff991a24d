#pragma once
#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "seqrec/model/baseline.h"

namespace seqrec::model {

/// Item-to-item transitions (first-order Markov chain): a prefix's scores are how often each item followed
/// the prefix's last item in training sessions, ties broken by popularity (a fraction below one count).
/// Stored sparsely (one successor list per item), never as a dense catalogue-squared matrix.
class Markov : public ItemScorer {
 public:
  Markov(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device);
  at::Tensor scores(const PrefixBatch& batch) const override;
  std::string name() const override { return "markov"; }
  /// (successor, count) pairs of `item`, by successor id.
  const std::vector<std::pair<int64_t, float>>& successors(int64_t item) const;

 private:
  int64_t num_items_;
  c10::Device device_;
  std::vector<std::vector<std::pair<int64_t, float>>> successors_;
  std::vector<float> tie_break_;
};

}  // namespace seqrec::model
