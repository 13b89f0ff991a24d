// make_baseline: the one place that knows every baseline.
#include "seqrec/common/error.h"
#include "seqrec/model/baseline.h"
#include "seqrec/model/markov.h"
#include "seqrec/model/popularity.h"
#include "seqrec/model/session_knn.h"

namespace seqrec::model {

const std::vector<std::string>& baseline_names() {
  static const std::vector<std::string> names{"popularity", "markov", "sknn"};
  return names;
}

std::unique_ptr<ItemScorer> make_baseline(const std::string& name, const schema::SessionTable& train, int64_t num_items,
                                          int64_t first_item_id, c10::Device device) {
  if (name == "popularity") return std::make_unique<Popularity>(train, num_items, first_item_id, device);
  if (name == "markov") return std::make_unique<Markov>(train, num_items, first_item_id, device);
  if (name == "sknn") return std::make_unique<SessionKnn>(train, num_items, first_item_id, device);
  throw InvalidInput("unknown baseline '" + name + "'; known: popularity, markov, sknn");
}

}  // namespace seqrec::model
