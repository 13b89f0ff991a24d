#include "seqrec/model/sequence_model.h"
#include "seqrec/model/session_model.h"

namespace seqrec::model {

std::pair<at::Tensor, at::Tensor> SessionModel::next_item_top_k(const PrefixBatch& batch, int64_t k) {
  auto scores = next_item_scores(batch);
  // The reserved ids score -inf: never among the k' = min(k, num_items - first_item_id) best.
  auto [values, ids] = scores.topk(std::max<int64_t>(0, std::min(k, scores.size(1) - config().first_item_id)), /*dim=*/1);
  return {values, ids};
}

std::shared_ptr<SessionModel> make_model(const ModelConfig& config) { return std::make_shared<SequenceModelImpl>(config); }

nlohmann::json describe_model(SessionModel& model) {
  int64_t total = 0, trainable = 0;
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& p : model.named_parameters()) {
    const int64_t n = p.value().numel();
    total += n;
    if (p.value().requires_grad()) trainable += n;
    const std::string part = p.key().substr(0, p.key().find('.'));
    parts[part] = parts.value(part, int64_t{0}) + n;
  }
  // The side columns it reads, as `seqrec inspect RUN` lists them.
  nlohmann::json features = nlohmann::json::array(), tasks = nlohmann::json::array();
  for (const auto& f : model.config().input.features) {
    nlohmann::json line{{"name", f.name}, {"type", choice_name(feature_type_choices(), f.type)},
                        {"session_level", f.session_level}, {"dim", f.resolved_dim()}};
    if (f.type == FeatureType::kCategorical) line["cardinality"] = f.cardinality;
    else line["encoding"] = choice_name(continuous_encoding_choices(), f.encoding);
    features.push_back(line);
  }
  for (const auto& t : model.config().tasks)
    tasks.push_back({{"target", t.target}, {"type", choice_name(task_type_choices(), t.type)}, {"weight", t.weight}});
  return {{"resolved", model.config().resolved().to_json()},
          {"features", features},
          {"tasks", tasks},
          {"parameters", {{"total", total}, {"trainable", trainable}, {"by_part", parts}}}};
}

}  // namespace seqrec::model
