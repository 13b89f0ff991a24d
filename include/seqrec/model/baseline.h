#pragma once
#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

#include "seqrec/schema/session_dataset.h"
#include "seqrec/model/batch.h"

namespace seqrec::model {

/// A non-neural baseline, fitted by counting over training sessions and scored like a model, so every
/// number is read against it in the same evaluation harness. Not a SessionModel: nothing to train.
class ItemScorer {
 public:
  virtual ~ItemScorer() = default;
  /// Scores [B, num_items] for the prefixes of `batch` (items, lengths); the reserved ids get -inf.
  virtual at::Tensor scores(const PrefixBatch& batch) const = 0;
  virtual std::string name() const = 0;
};

/// The baselines `make_baseline` knows: "popularity", "markov", "sknn".
const std::vector<std::string>& baseline_names();

/// Fits the baseline `name` on `train`; throws InvalidInput listing the known names otherwise.
/// `num_items` and `first_item_id` are the schema's item range: ids below first_item_id are never recommended.
std::unique_ptr<ItemScorer> make_baseline(const std::string& name, const schema::SessionTable& train, int64_t num_items,
                                          int64_t first_item_id, c10::Device device);

namespace detail {
/// Popularity divided so that it stays below 1: added to integer-valued counts, it breaks their ties by
/// popularity without reordering them. Reserved ids are -inf. [num_items] float on the CPU.
std::vector<float> popularity_tie_break(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id);
}  // namespace detail

}  // namespace seqrec::model
