#include "seqrec/serve/predictor.h"

#include <c10/core/InferenceMode.h>
#include <torch/types.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <unordered_set>

#include "seqrec/common/error.h"
#include "seqrec/model/batch.h"
#include "seqrec/model/ensemble.h"
#include "seqrec/schema/schema.h"
#include "seqrec/export/bundle.h"
#include "seqrec/export/checkpoint.h"

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
  columns_.features = model_->batch_columns().features;
  update_feature_inputs();
}

void Predictor::update_feature_inputs() {
  std::vector<std::string> names;
  for (const auto& f : columns_.features) names.push_back(f.name);
  feature_inputs_ = workflow_.raw_inputs_of(names);
}

etl::InputSpec Predictor::request_input(const etl::RequestNames& names) const {
  auto request = workflow_.request_input(names);
  for (auto& column : request.columns)
    if (feature_inputs_.count(column.name)) column.required = true;
  return request;
}

Predictor Predictor::load(const std::filesystem::path& data_dir, const std::filesystem::path& checkpoint, c10::Device device) {
  auto workflow = etl::Workflow::load(data_dir / "workflow");
  auto schema_path = schema::Schema::folder_schema_path(data_dir);
  auto loaded = artifacts::load_checkpoint(checkpoint, device);
  artifacts::check_schema_matches(loaded.meta, schema::Schema::load(schema_path).fingerprint(), checkpoint, schema_path);
  return Predictor(std::move(workflow), loaded.model, device);
}

Predictor Predictor::load_bundle(const std::filesystem::path& bundle, c10::Device device) {
  auto manifest = artifacts::verify_bundle(bundle);
  auto workflow = etl::Workflow::load(bundle / artifacts::bundle_paths::kWorkflow);
  const auto model_path = bundle / artifacts::bundle_paths::kModel;
  auto loaded = artifacts::load_checkpoint(model_path, device);
  artifacts::check_schema_matches(loaded.meta, manifest.data_fingerprint, model_path, bundle / artifacts::bundle_paths::kManifest);
  Predictor predictor(std::move(workflow), loaded.model, device);
  for (const auto& name : manifest.ensemble)
    predictor.add_ensemble_member(bundle / name, manifest.data_fingerprint, bundle / artifacts::bundle_paths::kManifest);
  if (manifest.hybrid.contains("sknn_weight")) {
    // Keys a bundle lacks (older bundles had only the first two) keep the defaults.
    const auto& h = manifest.hybrid;
    model::SessionKnnOptions knn;
    knn.neighbors = h.value("sknn_neighbors", knn.neighbors);
    knn.sample_size = h.value("sknn_sample", knn.sample_size);
    knn.prefix_decay = h.value("sknn_prefix_decay", knn.prefix_decay);
    knn.neighbor_decay = h.value("sknn_neighbor_decay", knn.neighbor_decay);
    knn.idf = h.value("sknn_idf", knn.idf);
    predictor.set_knn_hybrid(schema::read_sessions(bundle / artifacts::bundle_paths::kKnnSessions), h.at("sknn_weight").get<double>(), knn);
  }
  return predictor;
}

void Predictor::add_ensemble_member(const std::filesystem::path& checkpoint, const std::string& data_fingerprint,
                                    const std::filesystem::path& schema_source) {
  auto member = artifacts::load_checkpoint(checkpoint, device_);
  artifacts::check_schema_matches(member.meta, data_fingerprint, checkpoint, schema_source);
  model::check_ensemble_member(*model_, *member.model, "ensemble member " + checkpoint.string());
  member.model->to(device_);
  member.model->eval();
  columns_.merge(model::BatchColumns{member.model->batch_columns().features, {}});
  update_feature_inputs();
  ensemble_.push_back(member.model);
}

void Predictor::set_knn_hybrid(const schema::SessionTable& train, double weight, model::SessionKnnOptions options) {
  SEQREC_CHECK(weight >= 0 && weight <= 1, "the kNN weight of a hybrid must be in [0, 1], got ", weight);
  knn_ = std::make_shared<const model::SessionKnn>(train, model_->config().num_items, model_->config().first_item_id, device_,
                                                 options);
  knn_weight_ = weight;
}

std::vector<Recommendation> Predictor::predict(std::vector<etl::Event> events, int64_t k) const {
  return predict(std::move(events), PredictOptions{k, false});
}

std::vector<Recommendation> Predictor::predict(std::vector<etl::Event> events, const PredictOptions& options) const {
  auto sessions = workflow_.transform_events(std::move(events));
  return predict(sessions, std::vector<PredictOptions>(sessions.size(), options));
}

std::vector<Recommendation> Predictor::predict(const schema::SessionTable& sessions, int64_t k) const {
  return predict(sessions, std::vector<PredictOptions>(sessions.size(), PredictOptions{k, false}));
}

std::vector<Recommendation> Predictor::predict(const schema::SessionTable& sessions,
                                               const std::vector<PredictOptions>& per_session) const {
  SEQREC_ASSERT(static_cast<int64_t>(per_session.size()) == sessions.size(), "one PredictOptions per session");
  for (const auto& o : per_session) SEQREC_CHECK(o.top_k > 0, "--top-k must be > 0, got ", o.top_k);
  // Inference mode, not only no-grad: no version counters or autograd dispatch on each op (short sequences
  // make serving per-op-overhead bound).
  c10::InferenceMode inference;
  const int64_t catalogue = workflow_.items().size();
  std::vector<Recommendation> out;
  out.reserve(sessions.size());
  for (int64_t start = 0; start < sessions.size(); start += kPredictBatch) {
    std::vector<int64_t> rows(std::min(kPredictBatch, sessions.size() - start));
    std::iota(rows.begin(), rows.end(), start);
    auto batch = model::make_prefix_batch(sessions, rows, model_->config().max_length, /*hold_out_last=*/false, device_, columns_);
    // Seen items are dropped after the top-k, so a row that excludes them asks for as many more.
    int64_t kk = 1;
    std::vector<std::unordered_set<int64_t>> seen(rows.size());
    for (size_t b = 0; b < rows.size(); ++b) {
      const auto& o = per_session[rows[b]];
      if (o.exclude_seen) seen[b].insert(sessions.items_of(rows[b]), sessions.items_of(rows[b]) + sessions.length(rows[b]));
      kk = std::max(kk, std::min(o.top_k + static_cast<int64_t>(seen[b].size()), catalogue));
    }
    at::Tensor values, indices;
    if (knn_ || !ensemble_.empty()) {  // the whole score matrix; one plain model takes the head's faster top-k
      std::vector<std::shared_ptr<model::SessionModel>> members{model_};
      members.insert(members.end(), ensemble_.begin(), ensemble_.end());
      auto scores = model::ensemble_scores(members, batch);
      if (knn_) scores = model::mix_with_knn(scores, knn_->distribution(batch), knn_weight_);
      std::tie(values, indices) = scores.topk(std::min(kk, model_->config().num_items - 3), 1);
    } else {
      std::tie(values, indices) = model_->next_item_top_k(batch, kk);
    }
    std::vector<at::Tensor> task_values;
    if (std::any_of(rows.begin(), rows.end(), [&](int64_t r) { return per_session[r].task_outputs; }))
      for (auto& t : model_->task_outputs(batch)) task_values.push_back(t.to(torch::kCPU, torch::kFloat).contiguous());
    values = values.to(torch::kCPU, torch::kFloat).contiguous();
    indices = indices.to(torch::kCPU, torch::kLong).contiguous();
    const float* v = values.data_ptr<float>();
    const int64_t* ix = indices.data_ptr<int64_t>();
    const int64_t width = values.size(1);
    for (size_t b = 0; b < rows.size(); ++b) {
      Recommendation r;
      r.session_id = sessions.session_ids[rows[b]];
      const size_t take = static_cast<size_t>(per_session[rows[b]].top_k);
      for (int64_t j = 0; j < width && r.items.size() < take; ++j) {
        const float score = v[b * width + j];
        if (std::isinf(score) && score < 0) break;
        if (seen[b].count(ix[b * width + j])) continue;
        r.items.push_back(workflow_.items().decode(ix[b * width + j]));
        r.scores.push_back(score);
      }
      if (per_session[rows[b]].task_outputs)
        for (size_t t = 0; t < task_values.size(); ++t)
          r.task_outputs.emplace_back(model_->config().tasks[t].target, task_values[t].data_ptr<float>()[b]);
      out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace seqrec::serve
