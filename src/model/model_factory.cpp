#include "seqrec/model/sequence_model.h"
#include "seqrec/model/session_model.h"

namespace seqrec::model {

std::pair<at::Tensor, at::Tensor> SessionModel::next_item_top_k(const at::Tensor& items, const at::Tensor& lengths, int64_t k) {
  auto scores = next_item_scores(items, lengths);
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
  return {{"resolved", model.config().resolved().to_json()},
          {"parameters", {{"total", total}, {"trainable", trainable}, {"by_part", parts}}}};
}

}  // namespace seqrec::model
