#include "seqrec/model/popularity.h"

#include <ATen/ATen.h>

#include <limits>
#include <vector>

namespace seqrec::model {

Popularity::Popularity(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device) {
  std::vector<float> counts(num_items, 0.0f);
  for (int64_t id : train.items)
    if (id >= 0 && id < num_items) counts[id] += 1.0f;
  for (int64_t id = 0; id < std::min(first_item_id, num_items); ++id) counts[id] = -std::numeric_limits<float>::infinity();
  counts_ = at::from_blob(counts.data(), {num_items}, at::kFloat).to(device, false, /*copy=*/true);
}

at::Tensor Popularity::scores(const PrefixBatch& batch) const {
  return counts_.unsqueeze(0).expand({batch.items.size(0), -1});
}

}  // namespace seqrec::model
