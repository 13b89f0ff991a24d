#include "seqrec/model/bert.h"

#include "seqrec/model/attention.h"
#include "seqrec/model/packed_attention.h"

namespace seqrec::model {

BertBodyImpl::BertBodyImpl(const ModelConfig& c, bool share_layers, int64_t num_layers)
    : depth_(num_layers > 0 ? num_layers : c.num_layers) {
  position_embedding = register_module("position_embedding", torch::nn::Embedding(c.max_length + 1, c.d_model));
  ln_embedding = register_module("ln_embedding", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  embedding_dropout = register_module("embedding_dropout", FastDropout(c.dropout));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < (share_layers ? 1 : depth_); ++i)
    blocks->push_back(TransformerLayer(TransformerLayerOptions::from(c).pre_norm(false)));
  init_transformer_weights(*this);
}

torch::Tensor BertBodyImpl::forward(const BodyInput& in) {
  auto blocked = attention_block_mask(in.padding, in.hidden.size(1), in.causal, in.perm_mask);
  // ALBERT shares one layer across the depth.
  auto layer = [&](int64_t i) { return blocks[std::min<int64_t>(i, blocks->size() - 1)]->as<TransformerLayer>(); };
  if (!in.target_mapping.defined()) {
    // Token-wise work on the real tokens only (see TokenPacking).
    auto packing = TokenPacking::of(in.padding);
    packing.plain_attention = !in.perm_mask.defined();
    packing.causal = in.causal;
    if (packing.worthwhile() || (packing.plain_attention && packed_attention_applies(in.hidden))) {
      auto rows = embedding_dropout(ln_embedding(packing.pack(add_positions(in.hidden, position_embedding))));
      for (int64_t i = 0; i < depth_; ++i) rows = layer(i)->forward_packed(rows, blocked, packing);
      return packing.unpack(rows);
    }
  }
  auto h = embedding_dropout(ln_embedding(add_positions(in.hidden, position_embedding)));
  for (int64_t i = 0; i < depth_; ++i) h = layer(i)->forward(h, blocked);
  return in.target_mapping.defined() ? map_targets(h, in.target_mapping) : h;
}

}  // namespace seqrec::model
