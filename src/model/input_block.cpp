#include "seqrec/model/input_block.h"

#include <torch/nn/init.h>

#include <fstream>
#include <sstream>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace {
void add(torch::nn::ModuleDict& dict, const std::string& name, std::shared_ptr<torch::nn::Module> module) {
  dict->update(std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>{{name, std::move(module)}});
}
}  // namespace

ContinuousEncoderImpl::ContinuousEncoderImpl(const FeatureConfig& f) {
  const int64_t dim = f.resolved_dim();
  if (f.encoding == ContinuousEncoding::kSoftOneHot) {
    projection = register_module("projection", torch::nn::Linear(1, f.bins));
    bins = register_module("bins", torch::nn::Embedding(f.bins, dim));
  } else {
    projection = register_module("projection", torch::nn::Linear(1, dim));
  }
}

torch::Tensor ContinuousEncoderImpl::forward(const torch::Tensor& values) {
  auto x = projection(values.to(torch::kFloat).unsqueeze(-1));
  if (!bins) return torch::relu(x);
  return torch::matmul(torch::softmax(x, -1), bins->weight);
}

InputBlockImpl::InputBlockImpl(const ModelConfig& c) : config_(c) {
  const int64_t E = c.item_dim(), D = c.d_model;
  item_embedding = register_module("item_embedding", torch::nn::Embedding(c.num_items, E));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(item_embedding->weight, 0.0, 0.02);
  }
  if (!c.input.pretrained_item_vectors.empty()) {
    load_item_vectors(c.input.pretrained_item_vectors, item_embedding->weight);
    if (c.input.freeze_pretrained) item_embedding->weight.set_requires_grad(false);
  }
  if (c.input.layer_norm) item_norm = register_module("item_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({E})));
  int64_t concat_size = E;
  if (!c.input.features.empty()) {
    categorical = register_module("categorical", torch::nn::ModuleDict());
    continuous = register_module("continuous", torch::nn::ModuleDict());
    feature_norms = register_module("feature_norms", torch::nn::ModuleDict());
    for (const auto& f : c.input.features) {
      const int64_t dim = c.input.aggregation == Aggregation::kConcat ? f.resolved_dim() : D;
      FeatureConfig sized = f;
      sized.dim = dim;
      if (f.type == FeatureType::kCategorical)
        add(categorical, f.name, torch::nn::Embedding(f.cardinality, dim).ptr());
      else
        add(continuous, f.name, ContinuousEncoder(sized).ptr());
      if (f.layer_norm) add(feature_norms, f.name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})).ptr());
      concat_size += dim;
    }
  }
  if (c.input.aggregation == Aggregation::kConcat && concat_size != D)
    projection = register_module("projection", torch::nn::Linear(concat_size, D));
  if (c.masking.scheme != "clm") {
    mask_embedding = register_parameter("mask_embedding", torch::zeros({D}));
    torch::NoGradGuard no_grad;
    torch::nn::init::normal_(mask_embedding, 0.0, 0.02);
  }
  dropout = register_module("dropout", FastDropout(c.input_dropout()));
}

torch::Tensor InputBlockImpl::forward(const torch::Tensor& items, const torch::Tensor& masked, const FeatureMap& features) {
  auto x = item_embedding(items);
  if (item_norm) x = item_norm(x);
  std::vector<torch::Tensor> parts{x};
  for (const auto& f : config_.input.features) {
    auto it = features.find(f.name);
    SEQREC_CHECK(it != features.end(), "the model's input block needs feature column '", f.name,
                 "', which the batch does not carry; check the data's schema.json");
    auto values = it->second;
    if (f.session_level || values.dim() == 1) values = values.view({-1, 1}).expand({items.size(0), items.size(1)});
    if (values.size(1) < items.size(1))
      values = torch::constant_pad_nd(values, {0, items.size(1) - values.size(1)}, 0);
    SEQREC_CHECK(values.size(1) == items.size(1), "feature '", f.name, "' has ", values.size(1), " positions, items have ",
                 items.size(1));
    auto v = f.type == FeatureType::kCategorical ? categorical[f.name]->as<torch::nn::Embedding>()->forward(values)
                                     : continuous[f.name]->as<ContinuousEncoder>()->forward(values);
    if (f.layer_norm) v = feature_norms[f.name]->as<torch::nn::LayerNorm>()->forward(v);
    parts.push_back(v);
  }
  if (config_.input.aggregation == Aggregation::kConcat) {
    x = parts.size() == 1 ? x : torch::cat(parts, -1);
    if (projection) x = projection(x);
  } else {
    auto others = torch::zeros_like(x);
    for (size_t i = 1; i < parts.size(); ++i) others = others + parts[i];
    x = config_.input.aggregation == Aggregation::kSum ? x + others : x * (1 + others);
  }
  // Transformers4Rec masks the whole interaction vector, side features included, so nothing of a target leaks.
  if (masked.defined() && mask_embedding.defined())
    x = torch::where(masked.unsqueeze(-1), mask_embedding.view({1, 1, -1}).expand_as(x), x);
  return dropout(x);
}

void load_item_vectors(const std::string& path, torch::Tensor& weight) {
  std::ifstream in(path);
  SEQREC_CHECK(in, "input.pretrained_item_vectors '", path, "' cannot be opened");
  const int64_t N = weight.size(0), E = weight.size(1);
  auto values = weight.detach().to(torch::kCPU).clone();
  auto acc = values.accessor<float, 2>();
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int64_t id;
    SEQREC_CHECK(static_cast<bool>(fields >> id), path, ":", line_no, ":1: expected '<item id> <", E, " values>'");
    SEQREC_CHECK(id >= 0 && id < N, path, ":", line_no, ":1: item id ", id, " is outside the catalogue 0..", N - 1);
    int64_t count = 0;
    float v;
    while (fields >> v) {
      if (count < E) acc[id][count] = v;
      ++count;
    }
    SEQREC_CHECK(count == E, path, ":", line_no, ": item ", id, " has ", count, " values; the item embedding has ", E);
  }
  torch::NoGradGuard no_grad;
  weight.copy_(values.to(weight.device()));
}

}  // namespace seqrec::model
