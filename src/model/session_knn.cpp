#include "seqrec/model/session_knn.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "seqrec/common/error.h"

namespace seqrec::model {

SessionKnn::SessionKnn(const schema::SessionTable& train, int64_t num_items, int64_t first_item_id, c10::Device device,
                       SessionKnnOptions options)
    : num_items_(num_items), first_item_id_(first_item_id), device_(device), options_(options), items_of_session_(train.size()),
      sequence_of_session_(train.size()), idf_(num_items, 1.0f), sessions_of_item_(num_items), recency_(train.size()), tie_break_(detail::popularity_tie_break(train, num_items, first_item_id)) {
  SEQREC_CHECK(options_.neighbors > 0 && options_.sample_size > 0, "session kNN needs neighbors and sample size > 0");
  SEQREC_CHECK(options_.prefix_decay >= 0 && options_.neighbor_decay >= 0 && options_.idf >= 0,
               "session kNN decays and idf exponent must be >= 0");
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
    distinct.erase(std::remove_if(distinct.begin(), distinct.end(), [&](int64_t id) { return id < first_item_id || id >= num_items; }),
                   distinct.end());
    for (int64_t id : distinct) sessions_of_item_[id].push_back(r);
    items_of_session_[r] = std::move(distinct);
    for (int64_t i = 0; options_.neighbor_decay > 0 && i < train.length(r); ++i)
      if (train.items_of(r)[i] >= first_item_id && train.items_of(r)[i] < num_items) sequence_of_session_[r].push_back(train.items_of(r)[i]);
  }
  if (options_.idf > 0)
    for (int64_t id = first_item_id; id < num_items; ++id)
      if (!sessions_of_item_[id].empty())
        idf_[id] = static_cast<float>(std::pow(
            std::log(static_cast<double>(train.size()) / static_cast<double>(sessions_of_item_[id].size())), options_.idf));
  for (auto& rows : sessions_of_item_)
    std::sort(rows.begin(), rows.end(), [&](int64_t a, int64_t b) { return recency_[a] > recency_[b]; });
}

std::vector<float> SessionKnn::session_scores(const int64_t* items, int64_t length) const {
  // Prefix item -> (its latest position's weight, that position).
  std::unordered_map<int64_t, std::pair<float, int64_t>> weight;
  for (int64_t i = 0; i < length; ++i)
    if (items[i] >= first_item_id_ && items[i] < num_items_)
      weight[items[i]] = {options_.prefix_decay > 0
                              ? static_cast<float>(std::exp(-static_cast<double>(length - 1 - i) / options_.prefix_decay))
                              : static_cast<float>(i + 1) / static_cast<float>(length),
                          i};
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

  struct Neighbor {
    float similarity;
    int64_t row;
  };
  std::vector<Neighbor> similar;
  for (int64_t r : candidates) {
    float sim = 0.0f;
    for (int64_t id : items_of_session_[r]) {
      auto it = weight.find(id);
      if (it != weight.end()) sim += it->second.first;
    }
    if (sim > 0) similar.push_back({sim, r});
  }
  const auto k = std::min<size_t>(options_.neighbors, similar.size());
  std::partial_sort(similar.begin(), similar.begin() + k, similar.end(), [&](const auto& a, const auto& b) {
    return a.similarity != b.similarity ? a.similarity > b.similarity : recency_[a.row] > recency_[b.row];
  });
  std::vector<float> scores(num_items_, 0.0f);
  for (size_t n = 0; n < k; ++n) {
    const auto& [sim, row] = similar[n];
    if (options_.neighbor_decay <= 0) {
      for (int64_t id : items_of_session_[row]) scores[id] += sim * idf_[id];
      continue;
    }
    // STAN: the match is where the neighbour holds the prefix's most recent shared item; an item votes by its
    // distance from there (its nearest occurrence).
    const auto& sequence = sequence_of_session_[row];
    int64_t match = 0, latest = -1;
    for (size_t q = 0; q < sequence.size(); ++q) {
      auto it = weight.find(sequence[q]);
      if (it != weight.end() && it->second.second >= latest) latest = it->second.second, match = static_cast<int64_t>(q);
    }
    for (int64_t id : items_of_session_[row]) {
      int64_t distance = static_cast<int64_t>(sequence.size());
      for (size_t q = 0; q < sequence.size(); ++q)
        if (sequence[q] == id) distance = std::min<int64_t>(distance, std::abs(static_cast<int64_t>(q) - match));
      scores[id] += sim * idf_[id] * static_cast<float>(std::exp(-static_cast<double>(distance) / options_.neighbor_decay));
    }
  }
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
  // What the model cannot score (the reserved ids) stays unscorable.
  return mixed.masked_fill(model_scores.isneginf(), -std::numeric_limits<float>::infinity());
}

}  // namespace seqrec::model
