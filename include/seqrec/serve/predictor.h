#pragma once
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "seqrec/etl/workflow.h"
#include "seqrec/model/session_knn.h"
#include "seqrec/model/session_model.h"

namespace seqrec::serve {

/// Top-k for one session, in raw ids.
struct Recommendation {
  std::string session_id;
  std::vector<std::string> items;  ///< raw item ids, best first
  std::vector<float> scores;  ///< the model's logits (an ensemble: log mean probability; a kNN hybrid: probability)
  /// With PredictOptions::task_outputs: each session task's output by its target column (a probability for a binary
  /// task, the value for a regression), in the model's task order.
  std::vector<std::pair<std::string, float>> task_outputs;
};

/// What to return for one session.
struct PredictOptions {
  int64_t top_k = 10;         ///< recommendations per session (> 0; capped at the catalogue)
  bool exclude_seen = false;  ///< never recommend an item the session already holds
  bool task_outputs = false;  ///< also return the model's session-task outputs
};

/// The fitted workflow and a trained model together: raw events in, raw item ids out.
/// The same object serves `seqrec predict` and the server (HTTP and gRPC); safe to call from many threads.
class Predictor {
 public:
  Predictor(etl::Workflow workflow, std::shared_ptr<model::SessionModel> model, c10::Device device);
  /// Loads `<data>/workflow` and a checkpoint, refusing a checkpoint trained on another schema.
  static Predictor load(const std::filesystem::path& data_dir, const std::filesystem::path& checkpoint, c10::Device device);
  /// Loads a bundle written by `seqrec export`, verifying its manifest first (newer or damaged bundles throw).
  static Predictor load_bundle(const std::filesystem::path& bundle, c10::Device device);

  /// Raw events of any number of sessions -> top-k per session, sessions in first-seen order.
  /// Unknown items map to the OOV id; reserved ids are never recommended.
  std::vector<Recommendation> predict(std::vector<etl::Event> events, int64_t k) const;
  /// Sessions already transformed by the workflow.
  std::vector<Recommendation> predict(const schema::SessionTable& sessions, int64_t k) const;
  /// Raw events with options (top_k, exclude_seen) for every session.
  std::vector<Recommendation> predict(std::vector<etl::Event> events, const PredictOptions& options) const;
  /// One PredictOptions per session row (`per_session.size() == sessions.size()`): lets the server's dynamic
  /// batcher score sessions of many requests in one forward pass. Entries whose score is -inf (reserved or
  /// excluded items) are left out, so a row can hold fewer than top_k items only when the catalogue runs out.
  std::vector<Recommendation> predict(const schema::SessionTable& sessions, const std::vector<PredictOptions>& per_session) const;

  /// Mixes session kNN over `train` into every prediction, as `seqrec evaluate --hybrid-sknn weight` measures it:
  /// scores become (1 - weight) * the model's softmax + weight * the kNN vote.
  void set_knn_hybrid(const schema::SessionTable& train, double weight, model::SessionKnnOptions options = {});
  /// Averages the model of `checkpoint` with this one as probabilities (evaluate --ensemble); it must be trained
  /// on the schema with `data_fingerprint` (`schema_source` names it in errors), on the same catalogue.
  void add_ensemble_member(const std::filesystem::path& checkpoint, const std::string& data_fingerprint,
                           const std::filesystem::path& schema_source);
  int64_t ensemble_size() const { return 1 + static_cast<int64_t>(ensemble_.size()); }
  /// The hybrid's kNN weight; negative without one.
  double knn_weight() const { return knn_ ? knn_weight_ : -1.0; }

  const model::ModelConfig& model_config() const { return model_->config(); }
  /// The model, for benchmarks and tools that score outside predict().
  model::SessionModel& model() const { return *model_; }
  c10::Device device() const { return device_; }

  const etl::Workflow& workflow() const { return workflow_; }
  /// The raw columns a request carries (Workflow::request_input), with those the model's side features are made from
  /// required: a request without one is refused, never scored with null features.
  etl::InputSpec request_input(const etl::RequestNames& names = {}) const;

 private:
  void update_feature_inputs();
  etl::Workflow workflow_;
  std::shared_ptr<model::SessionModel> model_;
  c10::Device device_;
  std::vector<std::shared_ptr<model::SessionModel>> ensemble_;  ///< models averaged with model_
  model::BatchColumns columns_;  ///< the side features the model and the ensemble members read
  std::set<std::string> feature_inputs_;  ///< the raw input columns those features are made from
  std::shared_ptr<const model::SessionKnn> knn_;
  double knn_weight_ = 0.0;
};

}  // namespace seqrec::serve
