#include "seqrec/model/baseline.h"

#include <algorithm>
#include <limits>

#include "seqrec/common/error.h"
#include "seqrec/model/markov.h"
#include "seqrec/model/popularity.h"
#include "seqrec/model/session_knn.h"

namespace seqrec::model {

const std::vector<std::string>& baseline_names() {
  static const std::vector<std::string> names{"popularity", "markov", "sknn"};
  return names;
}

std::unique_ptr<ItemScorer> make_baseline(const std::string& name, const etl::SessionTable& train, int64_t num_items,
                                          c10::Device device) {
  if (name == "popularity") return std::make_unique<Popularity>(train, num_items, device);
  if (name == "markov") return std::make_unique<Markov>(train, num_items, device);
  if (name == "sknn") return std::make_unique<SessionKnn>(train, num_items, device);
  throw InvalidInput("unknown baseline '" + name + "'; known: popularity, markov, sknn");
}

namespace detail {
std::vector<float> popularity_tie_break(const etl::SessionTable& train, int64_t num_items) {
  std::vector<double> counts(num_items, 0.0);
  for (int64_t id : train.items)
    if (id >= 0 && id < num_items) counts[id] += 1.0;
  const double scale = 1.0 + *std::max_element(counts.begin(), counts.end());
  std::vector<float> out(num_items);
  for (int64_t id = 0; id < num_items; ++id)
    out[id] = id < 3 ? -std::numeric_limits<float>::infinity() : static_cast<float>(0.5 * counts[id] / scale);
  return out;
}
}  // namespace detail

}  // namespace seqrec::model
