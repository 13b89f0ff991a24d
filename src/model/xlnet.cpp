#include "seqrec/model/xlnet.h"

#include "seqrec/model/attention.h"
#include "seqrec/model/relative_attention.h"

namespace seqrec::model {

XlnetBodyImpl::XlnetBodyImpl(const ModelConfig& c) : d_model_(c.d_model) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i)
    layers->push_back(RelativeLayer(TransformerLayerOptions::from(c)));
  query_embedding = register_parameter("query_embedding", torch::zeros({c.d_model}));
  dropout = register_module("dropout", FastDropout(c.dropout));
  init_transformer_weights(*this);
}

torch::Tensor XlnetBodyImpl::forward(const BodyInput& in) {
  const int64_t B = in.hidden.size(0), L = in.hidden.size(1);
  // Distances L, L-1, ..., -L+1 cover every (query, key) pair in both directions.
  auto distances = torch::arange(L, -L, -1, in.hidden.options());
  auto r = dropout(sinusoid_embedding(distances, d_model_));
  auto h = dropout(in.hidden);
  torch::Tensor content_extra, query_extra;
  if (in.perm_mask.defined()) {
    query_extra = in.perm_mask;
    content_extra = in.perm_mask & ~torch::eye(L, in.perm_mask.options()).unsqueeze(0);
  }
  auto content_blocked = attention_block_mask(in.padding, L, in.causal, content_extra);
  if (!in.target_mapping.defined()) {
    const auto real = RealRows::of(in.padding);
    for (const auto& layer : *layers) h = layer->as<RelativeLayer>()->forward_real(h, r, content_blocked, /*first_distance=*/L, real);
    return dropout(h);
  }
  // The query stream at every position; positions the mapping does not select are computed and dropped,
  // which is exact because a query-stream state depends on no other query-stream state.
  auto query_blocked = attention_block_mask(in.padding, L, in.causal, query_extra);
  auto g = dropout(query_embedding.view({1, 1, -1}).expand({B, L, d_model_}));
  for (const auto& layer : *layers)
    std::tie(h, g) = layer->as<RelativeLayer>()->forward_two_stream(h, g, r, content_blocked, query_blocked, L);
  return map_targets(dropout(g), in.target_mapping);
}

}  // namespace seqrec::model
