#include "seqrec/model/baseline.h"

#include <algorithm>
#include <limits>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace detail {
std::vector<float> popularity_tie_break(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id) {
  std::vector<double> counts(num_items, 0.0);
  for (int64_t id : train.items)
    if (id >= 0 && id < num_items) counts[id] += 1.0;
  const double scale = 1.0 + *std::max_element(counts.begin(), counts.end());
  std::vector<float> out(num_items);
  for (int64_t id = 0; id < num_items; ++id)
    out[id] = id < first_item_id ? -std::numeric_limits<float>::infinity() : static_cast<float>(0.5 * counts[id] / scale);
  return out;
}
}  // namespace detail

}  // namespace seqrec::model
