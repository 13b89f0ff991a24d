#include "seqrec/model/transfo_xl.h"

#include <cmath>

#include "seqrec/model/attention.h"
#include "seqrec/model/relative_attention.h"

namespace seqrec::model {

TransfoXlBodyImpl::TransfoXlBodyImpl(const ModelConfig& c)
    : d_model_(c.d_model),
      segment_length_(c.body.segment_length > 0 ? c.body.segment_length : c.max_length + 1),
      memory_length_(c.body.memory_length > 0 ? c.body.memory_length : segment_length_) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i)
    layers->push_back(RelativeLayer(TransformerLayerOptions::from(c)));
  dropout = register_module("dropout", FastDropout(c.dropout));
  init_transformer_weights(*this);
}

torch::Tensor TransfoXlBodyImpl::forward(const BodyInput& in) {
  const int64_t L = in.hidden.size(1), num_layers = static_cast<int64_t>(layers->size());
  // Transformer-XL scales its embeddings by sqrt(d_model) before the first layer.
  auto x = in.hidden * std::sqrt(static_cast<double>(d_model_));
  std::vector<torch::Tensor> memory(num_layers);
  torch::Tensor memory_padding = in.padding.slice(1, 0, 0);
  std::vector<torch::Tensor> outputs;
  for (int64_t start = 0; start < L; start += segment_length_) {
    auto segment = x.slice(1, start, std::min(L, start + segment_length_));
    auto segment_padding = in.padding.slice(1, start, start + segment.size(1));
    auto key_padding = torch::cat({memory_padding, segment_padding}, 1);
    const int64_t Lq = segment.size(1), Lk = key_padding.size(1);
    auto distances = torch::arange(Lk - 1, -1, -1, x.options());
    auto r = dropout(sinusoid_embedding(distances, d_model_));
    auto blocked = attention_block_mask(key_padding, Lq, /*causal=*/true);
    auto h = dropout(segment);
    for (int64_t l = 0; l < num_layers; ++l) {
      auto layer_input = h;
      h = layers[l]->as<RelativeLayer>()->forward(h, memory[l], r, blocked, /*first_distance=*/Lk - 1);
      auto kept = memory[l].defined() ? torch::cat({memory[l], layer_input}, 1) : layer_input;
      memory[l] = kept.slice(1, std::max<int64_t>(0, kept.size(1) - memory_length_)).detach();
    }
    memory_padding = key_padding.slice(1, std::max<int64_t>(0, Lk - memory_length_));
    outputs.push_back(dropout(h));
  }
  auto out = torch::cat(outputs, 1);
  return in.target_mapping.defined() ? map_targets(out, in.target_mapping) : out;
}

}  // namespace seqrec::model
