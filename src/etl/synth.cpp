#include "seqrec/etl/synth.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "seqrec/common/error.h"

namespace seqrec::etl {

namespace {

/// Samples indices with probability proportional to fixed weights.
class WeightedSampler {
 public:
  explicit WeightedSampler(const std::vector<double>& weights) : cumulative_(weights.size()) {
    std::partial_sum(weights.begin(), weights.end(), cumulative_.begin());
  }
  template <typename Rng>
  size_t operator()(Rng& rng) const {
    std::uniform_real_distribution<double> u(0.0, cumulative_.back());
    size_t i = std::upper_bound(cumulative_.begin(), cumulative_.end(), u(rng)) - cumulative_.begin();
    return std::min(i, cumulative_.size() - 1);
  }

 private:
  std::vector<double> cumulative_;
};

}  // namespace

int64_t write_synth_events(const SynthOptions& o, std::ostream& out) {
  SEQREC_CHECK(o.sessions > 0 && o.items >= 2 && o.categories >= 1 && o.categories <= o.items && o.days >= 1,
               "synth: need sessions > 0, items >= 2, 1 <= categories <= items, days >= 1");
  SEQREC_CHECK(o.mean_length >= 2.0, "synth: --mean-length must be >= 2, got ", o.mean_length);
  SEQREC_CHECK(o.follow_probability >= 0 && o.follow_probability <= 1, "synth: --follow-probability must be in [0, 1]");
  std::mt19937_64 rng(o.seed);

  // Popularity: Zipf over a random permutation, so item ids say nothing about rank.
  std::vector<int64_t> rank(o.items);
  std::iota(rank.begin(), rank.end(), 0);
  std::shuffle(rank.begin(), rank.end(), rng);
  std::vector<double> popularity(o.items);
  for (int64_t i = 0; i < o.items; ++i) popularity[i] = 1.0 / std::pow(rank[i] + 1.0, o.zipf_exponent);

  std::vector<int64_t> category(o.items);
  std::vector<std::vector<int64_t>> members(o.categories);
  for (int64_t i = 0; i < o.items; ++i) {
    category[i] = i % o.categories;
    members[category[i]].push_back(i);
  }
  // The hidden path: a random cycle through each category's items.
  std::vector<int64_t> successor(o.items);
  std::vector<WeightedSampler> in_category;
  for (auto& m : members) {
    std::vector<int64_t> path = m;
    std::shuffle(path.begin(), path.end(), rng);
    for (size_t k = 0; k < path.size(); ++k) successor[path[k]] = path[(k + 1) % path.size()];
    std::vector<double> w;
    for (int64_t i : m) w.push_back(popularity[i]);
    in_category.emplace_back(w);
  }
  WeightedSampler global(popularity);
  std::vector<int> price(o.items);
  std::lognormal_distribution<double> price_dist(3.5, 0.5);
  for (auto& p : price) p = std::max(1, static_cast<int>(std::lround(price_dist(rng))));

  std::vector<int64_t> starts(o.sessions);
  std::uniform_int_distribution<int64_t> start_dist(0, o.days * 86400 - 1);
  for (auto& s : starts) s = o.start_epoch_s + start_dist(rng);
  std::sort(starts.begin(), starts.end());

  std::geometric_distribution<int> extra(1.0 / (o.mean_length - 1.0));
  std::uniform_int_distribution<int> gap(5, 300);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  out << "session_id,item_id,timestamp,category,price\n";
  int64_t events = 0;
  for (int64_t s = 0; s < o.sessions; ++s) {
    const int length = 1 + 1 + extra(rng);
    int64_t item = static_cast<int64_t>(global(rng));
    int64_t t = starts[s];
    for (int k = 0; k < length; ++k) {
      out << (s + 1) << ',' << (100000 + item) << ',' << t << ',' << category[item] << ',' << price[item] << '\n';
      ++events;
      double r = coin(rng);
      if (r < o.follow_probability) {
        item = successor[item];
      } else {
        int64_t next = r < o.follow_probability + (1 - o.follow_probability) / 2
                           ? members[category[item]][in_category[category[item]](rng)]
                           : static_cast<int64_t>(global(rng));
        item = next;
      }
      t += gap(rng);
    }
  }
  return events;
}

}  // namespace seqrec::etl
