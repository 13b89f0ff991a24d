#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "seqrec/common/options_reader.h"
#include "seqrec/schema/session_dataset.h"
#include "seqrec/model/batch.h"
#include "seqrec/schema/schema.h"

namespace seqrec::metrics {

/// Scores every catalogue item for each session prefix of a batch: [B, num_items], reserved ids at -inf.
using Scorer = std::function<at::Tensor(const model::PrefixBatch& batch)>;

/// Which predictions a sessions table yields.
enum class Protocol {
  kLastItem,     ///< one per session: its last item, from everything before it
  kEveryPrefix,  ///< one per position t >= 1 of each session: item t from items 0..t-1 (SR-GNN, GRU4Rec)
  kLeaveOneOut,  ///< one per row = a user's whole history: the item `holdout_offset` from the end (SASRec)
};
/// "last-item", "every-prefix" or "leave-one-out"; throws InvalidInput naming `option` otherwise.
const Choices<Protocol>& protocol_choices();  ///< last-item, every-prefix, leave-one-out
Protocol parse_protocol(const std::string& name, const std::string& option = "--protocol");
std::string to_string(Protocol protocol);

struct EvaluatorOptions {
  std::vector<int64_t> ks{10, 20};
  int64_t batch_size = 256;  ///< predictions scored together
  int64_t max_length = 20;   ///< prefix items fed to the scorer (the last ones)
  Protocol protocol = Protocol::kLastItem;
  /// Leave-one-out only: 0 holds out the last item (test), 1 the second to last (valid); later items are hidden.
  int64_t holdout_offset = 0;
  /// Remove the items of the prediction's history from its ranking (the target itself always stays).
  bool exclude_seen = false;
  /// 0 = rank against the full catalogue (the default). N > 0 = rank against N random items the history does
  /// not contain (the SASRec paper's sampled protocol); every printed result says "sampled".
  int64_t sampled_negatives = 0;
  uint64_t seed = 7;  ///< the sampled negatives' seed
  c10::Device device = c10::Device(c10::kCPU);
  /// The schema's first item id (schema::ColumnSchema::first_value_id): lower ids are never ranked nor drawn.
  int64_t first_item_id = schema::kDefaultFirstValueId;
  /// The side features the scorer's model reads (model::SessionModel::batch_columns()); each prediction's batch
  /// carries them for its history positions.
  model::BatchColumns columns;
};

struct EvaluationResult {
  std::string name;
  std::string protocol;                   ///< e.g. "every-prefix, full ranking" or "last-item, 100 sampled negatives (sampled)"
  bool sampled = false;
  std::map<std::string, double> metrics;  ///< "ndcg@10" -> value; "coverage@k" (full ranking) at every k
  std::map<std::string, double> task_metrics;  ///< session tasks: "<target>/auc", "/logloss", "/rmse", "/mae"
  int64_t predictions = 0;
  int64_t unscorable_targets = 0;  ///< targets that are padding, null or OOV: counted as misses
  double seconds = 0.0;
  nlohmann::json to_json() const;
};

struct Prediction;

/// Ranking evaluation (DESIGN.md §4) streamed in batches: ranks come from the scores one batch at a time, never
/// from a one-hot matrix over the catalogue.
class Evaluator {
 public:
  explicit Evaluator(EvaluatorOptions options);
  EvaluationResult evaluate(const schema::SessionTable& sessions, const Scorer& scorer, const std::string& name) const;
  const EvaluatorOptions& options() const { return options_; }
  /// The protocol as printed, e.g. "every-prefix, full ranking, seen items excluded".
  std::string describe() const;

 private:
  /// The sampled protocol's negatives for `chunk`: [B, sampled_negatives] ids among V the sessions never hold.
  at::Tensor sampled_negatives(const schema::SessionTable& sessions, const std::vector<Prediction>& chunk, int64_t V,
                               std::mt19937_64& rng) const;
  EvaluatorOptions options_;
};

/// A prediction: row `row` of a table, the target at position `target`, the history is positions [0, target).
struct Prediction {
  int64_t row;
  int64_t target;
};
/// The predictions `options` makes from `sessions`, in table order.
std::vector<Prediction> list_predictions(const schema::SessionTable& sessions, const EvaluatorOptions& options);
/// Builds the scorer input for `predictions`: the last `max_length` history items of each (with the side features
/// `columns` names), and the targets.
model::PrefixBatch make_prediction_batch(const schema::SessionTable& sessions, const std::vector<Prediction>& predictions,
                                         int64_t max_length, c10::Device device, const model::BatchColumns& columns = {});

/// A results table: the protocol, then one row per result, one column per metric, written for a terminal.
std::string format_results_table(const std::vector<EvaluationResult>& results);

}  // namespace seqrec::metrics
