#include "seqrec/serve/predictor.h"

#include <torch/types.h>

#include <numeric>

#include "seqrec/common/error.h"
#include "seqrec/model/batch.h"
#include "seqrec/schema/schema.h"
#include "seqrec/train/checkpoint.h"

namespace seqrec::serve {

namespace {
constexpr int64_t kPredictBatch = 256;
}

Predictor::Predictor(etl::Workflow workflow, std::shared_ptr<model::SessionModel> model, c10::Device device)
    : workflow_(std::move(workflow)), model_(std::move(model)), device_(device) {
  SEQREC_CHECK(model_->config().num_items == workflow_.items().cardinality(), "the model scores ", model_->config().num_items,
               " item ids but the workflow's vocabulary has ", workflow_.items().cardinality(),
               "; they come from different ETL runs");
  model_->to(device_);
  model_->eval();
}

Predictor Predictor::load(const std::filesystem::path& data_dir, const std::filesystem::path& checkpoint, c10::Device device) {
  auto workflow = etl::Workflow::load(data_dir / "workflow");
  auto schema_path = data_dir / "schema.json";
  auto loaded = train::load_checkpoint(checkpoint, device);
  train::check_schema_matches(loaded.meta, schema::Schema::load(schema_path).fingerprint(), checkpoint, schema_path);
  return Predictor(std::move(workflow), loaded.model, device);
}

std::vector<Recommendation> Predictor::predict(std::vector<etl::Event> events, int64_t k) const {
  return predict(workflow_.transform_events(std::move(events)), k);
}

std::vector<Recommendation> Predictor::predict(const etl::SessionTable& sessions, int64_t k) const {
  SEQREC_CHECK(k > 0, "--top-k must be > 0, got ", k);
  torch::NoGradGuard no_grad;
  const int64_t catalogue = workflow_.items().size();
  const int64_t kk = std::min(k, catalogue);
  std::vector<Recommendation> out;
  out.reserve(sessions.size());
  for (int64_t start = 0; start < sessions.size(); start += kPredictBatch) {
    std::vector<int64_t> rows(std::min(kPredictBatch, sessions.size() - start));
    std::iota(rows.begin(), rows.end(), start);
    auto batch = model::make_prefix_batch(sessions, rows, model_->config().max_length, /*hold_out_last=*/false, device_);
    auto scores = model_->next_item_scores(batch.items, batch.lengths);
    auto [values, indices] = scores.topk(kk, /*dim=*/1);
    values = values.to(torch::kCPU).contiguous();
    indices = indices.to(torch::kCPU).contiguous();
    for (size_t b = 0; b < rows.size(); ++b) {
      Recommendation r;
      r.session_id = sessions.session_ids[rows[b]];
      for (int64_t j = 0; j < kk; ++j) {
        r.items.push_back(workflow_.items().decode(indices[b][j].item<int64_t>()));
        r.scores.push_back(values[b][j].item<float>());
      }
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace seqrec::serve
