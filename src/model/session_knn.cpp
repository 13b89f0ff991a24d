#include "seqrec/model/session_knn.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "seqrec/common/error.h"

namespace seqrec::model {

SessionKnn::SessionKnn(const etl::SessionTable& train, int64_t num_items, c10::Device device, SessionKnnOptions options)
    : num_items_(num_items), device_(device), options_(options), items_of_session_(train.size()),
      sessions_of_item_(num_items), recency_(train.size()), tie_break_(detail::popularity_tie_break(train, num_items)) {
  SEQREC_CHECK(options_.neighbors > 0 && options_.sample_size > 0, "session kNN needs neighbors and sample size > 0");
  // Recency: a session's last timestamp, then its row (ETL writes sessions in time order).
  std::vector<int64_t> order(train.size());
  std::iota(order.begin(), order.end(), 0);
  auto last_time = [&](int64_t r) {
    return train.length(r) > 0 && !train.timestamps.empty() ? train.timestamps[train.offsets[r + 1] - 1] : 0;
  };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return last_time(a) < last_time(b); });
  for (size_t i = 0; i < order.size(); ++i) recency_[order[i]] = static_cast<int64_t>(i);
  for (int64_t r = 0; r < train.size(); ++r) {
    std::vector<int64_t> distinct(train.items_of(r), train.items_of(r) + train.length(r));
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    distinct.erase(std::remove_if(distinct.begin(), distinct.end(), [&](int64_t id) { return id < 3 || id >= num_items; }),
                   distinct.end());
    for (int64_t id : distinct) sessions_of_item_[id].push_back(r);
    items_of_session_[r] = std::move(distinct);
  }
  for (auto& rows : sessions_of_item_)
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return recency_[a] > recency_[b]; });
}

std::vector<float> SessionKnn::session_scores(const int64_t* items, int64_t length) const {
  std::unordered_map<int64_t, float> weight;  // prefix item -> its latest position's weight
  for (int64_t i = 0; i < length; ++i)
    if (items[i] >= 3 && items[i] < num_items_) weight[items[i]] = static_cast<float>(i + 1) / static_cast<float>(length);
  // Candidates: the most recent sessions holding any prefix item (each item's list is most recent first).
  std::vector<int64_t> candidates;
  for (const auto& [item, w] : weight) {
    const auto& rows = sessions_of_item_[item];
    candidates.insert(candidates.end(), rows.begin(),
                      rows.begin() + std::min<int64_t>(options_.sample_size, static_cast<int64_t>(rows.size())));
  }
  std::sort(candidates.begin(), candidates.end(), [&](int64_t a, int64_t b) { return recency_[a] > recency_[b]; });
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  if (static_cast<int64_t>(candidates.size()) > options_.sample_size) candidates.resize(options_.sample_size);

  std::vector<std::pair<float, int64_t>> similar;  // (similarity, row)
  for (int64_t r : candidates) {
    float sim = 0.0f;
    for (int64_t id : items_of_session_[r]) {
      auto it = weight.find(id);
      if (it != weight.end()) sim += it->second;
    }
    if (sim > 0) similar.emplace_back(sim, r);
  }
  const auto k = std::min<size_t>(options_.neighbors, similar.size());
  std::partial_sort(similar.begin(), similar.begin() + k, similar.end(), [&](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : recency_[a.second] > recency_[b.second];
  });
  std::vector<float> scores(num_items_, 0.0f);
  for (size_t n = 0; n < k; ++n)
    for (int64_t id : items_of_session_[similar[n].second]) scores[id] += similar[n].first;
  return scores;
}

at::Tensor SessionKnn::votes(const PrefixBatch& batch) const {
  auto items = batch.items.to(at::kCPU).contiguous();
  auto lengths = batch.lengths.to(at::kCPU).contiguous();
  const int64_t B = items.size(0), L = items.size(1);
  auto out = at::empty({B, num_items_}, at::kFloat);
  for (int64_t b = 0; b < B; ++b) {
    auto s = session_scores(items.data_ptr<int64_t>() + b * L, lengths.data_ptr<int64_t>()[b]);
    std::copy(s.begin(), s.end(), out.data_ptr<float>() + b * num_items_);
  }
  return out;
}

at::Tensor SessionKnn::scores(const PrefixBatch& batch) const {
  auto tie_break = at::from_blob(const_cast<float*>(tie_break_.data()), {1, num_items_}, at::kFloat);
  return (votes(batch) + 1e-3f * tie_break).to(device_);
}

at::Tensor SessionKnn::distribution(const PrefixBatch& batch) const {
  auto v = votes(batch);
  // A prefix without neighbours has only zero votes: 0 / tiny keeps it all 0.
  return (v / v.sum(1, /*keepdim=*/true).clamp_min(std::numeric_limits<float>::min())).to(device_);
}

at::Tensor mix_with_knn(const at::Tensor& model_scores, const at::Tensor& knn_distribution, double weight) {
  SEQREC_CHECK(weight >= 0 && weight <= 1, "the kNN weight of a hybrid must be in [0, 1], got ", weight);
  SEQREC_CHECK(model_scores.sizes() == knn_distribution.sizes(), "model scores ", model_scores.sizes(),
               " and kNN distribution ", knn_distribution.sizes(), " differ in shape");
  auto mixed = at::softmax(model_scores, 1) * (1.0 - weight) + knn_distribution.to(model_scores.device()) * weight;
  mixed.slice(1, 0, 3).fill_(-std::numeric_limits<float>::infinity());
  return mixed;
}

}  // namespace seqrec::model
