#include "seqrec/model/markov.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>

namespace seqrec::model {

Markov::Markov(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device)
    : num_items_(num_items), device_(device), successors_(num_items),
      tie_break_(detail::popularity_tie_break(train, num_items, first_item_id)) {
  std::vector<std::map<int64_t, float>> counts(num_items);
  for (int64_t r = 0; r < train.size(); ++r) {
    const int64_t* s = train.items_of(r);
    for (int64_t t = 0; t + 1 < train.length(r); ++t)
      if (s[t] >= 0 && s[t] < num_items && s[t + 1] >= first_item_id && s[t + 1] < num_items) counts[s[t]][s[t + 1]] += 1.0f;
  }
  for (int64_t a = 0; a < num_items; ++a) successors_[a].assign(counts[a].begin(), counts[a].end());
}

const std::vector<std::pair<int64_t, float>>& Markov::successors(int64_t item) const { return successors_.at(item); }

at::Tensor Markov::scores(const PrefixBatch& batch) const {
  auto items = batch.items.to(at::kCPU).contiguous();
  auto lengths = batch.lengths.to(at::kCPU).contiguous();
  const int64_t B = items.size(0), L = items.size(1);
  auto out = at::from_blob(const_cast<float*>(tie_break_.data()), {1, num_items_}, at::kFloat).repeat({B, 1});
  float* o = out.data_ptr<float>();
  const int64_t* ip = items.data_ptr<int64_t>();
  const int64_t* lp = lengths.data_ptr<int64_t>();
  for (int64_t b = 0; b < B; ++b) {
    if (lp[b] < 1) continue;
    const int64_t last = ip[b * L + lp[b] - 1];
    if (last < 0 || last >= num_items_) continue;
    for (const auto& [next, count] : successors_[last]) o[b * num_items_ + next] += count;
  }
  return out.to(device_);
}

}  // namespace seqrec::model
