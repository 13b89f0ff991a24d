#pragma once
#include <ATen/core/Tensor.h>

#include "seqrec/etl/session_dataset.h"

namespace seqrec::model {

/// The most-popular baseline: every session gets the catalogue ranked by training-set click counts.
class Popularity {
 public:
  /// Counts item ids over all positions of `train`; ids below 3 are never recommended.
  Popularity(const etl::SessionTable& train, int64_t num_items, c10::Device device);
  /// [batch_size, num_items] scores (the counts; reserved ids -inf).
  at::Tensor scores(int64_t batch_size) const;
  const at::Tensor& counts() const { return counts_; }

 private:
  at::Tensor counts_;
};

}  // namespace seqrec::model
