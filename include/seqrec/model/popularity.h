#pragma once
#include <ATen/core/Tensor.h>

#include "seqrec/model/baseline.h"

namespace seqrec::model {

/// The most-popular baseline: every session gets the catalogue ranked by training-set click counts.
class Popularity : public ItemScorer {
 public:
  /// Counts item ids over all positions of `train`; ids below first_item_id are never recommended.
  Popularity(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device);
  /// The counts for every prefix (reserved ids -inf).
  at::Tensor scores(const PrefixBatch& batch) const override;
  std::string name() const override { return "popularity"; }
  const at::Tensor& counts() const { return counts_; }

 private:
  at::Tensor counts_;
};

}  // namespace seqrec::model
