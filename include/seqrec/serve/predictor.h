#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "seqrec/etl/workflow.h"
#include "seqrec/model/session_model.h"

namespace seqrec::serve {

/// Top-k for one session, in raw ids.
struct Recommendation {
  std::string session_id;
  std::vector<std::string> items;  ///< raw item ids, best first
  std::vector<float> scores;       ///< the model's logits for those items
};

/// The fitted workflow and a trained model together: raw events in, raw item ids out.
/// The same object serves `seqrec predict` and (later) the server.
class Predictor {
 public:
  Predictor(etl::Workflow workflow, std::shared_ptr<model::SessionModel> model, c10::Device device);
  /// Loads `<data>/workflow` and a checkpoint, refusing a checkpoint trained on another schema.
  static Predictor load(const std::filesystem::path& data_dir, const std::filesystem::path& checkpoint, c10::Device device);

  /// Raw events of any number of sessions -> top-k per session, sessions in first-seen order.
  /// Unknown items map to the OOV id; reserved ids are never recommended.
  std::vector<Recommendation> predict(std::vector<etl::Event> events, int64_t k) const;
  /// Sessions already transformed by the workflow.
  std::vector<Recommendation> predict(const etl::SessionTable& sessions, int64_t k) const;

  const etl::Workflow& workflow() const { return workflow_; }

 private:
  etl::Workflow workflow_;
  std::shared_ptr<model::SessionModel> model_;
  c10::Device device_;
};

}  // namespace seqrec::serve
