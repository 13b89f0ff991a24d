#include "seqrec/model/gpt2.h"

#include "seqrec/model/attention.h"
#include "seqrec/model/packed_attention.h"
#include "seqrec/model/causal_scoring.h"

namespace seqrec::model {

Gpt2BodyImpl::Gpt2BodyImpl(const ModelConfig& c) {
  position_embedding = register_module("position_embedding", torch::nn::Embedding(c.max_length + 1, c.d_model));
  embedding_dropout = register_module("embedding_dropout", FastDropout(c.dropout));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_layers; ++i)
    blocks->push_back(TransformerLayer(TransformerLayerOptions::from(c).pre_norm(true)));
  ln_final = register_module("ln_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.d_model})));
  init_transformer_weights(*this);
}

torch::Tensor Gpt2BodyImpl::forward(const BodyInput& in) {
  auto blocked = attention_block_mask(in.padding, in.hidden.size(1), /*causal=*/true, in.perm_mask);
  // Scoring the next item needs one position per row: the last block computes only those.
  const bool rows_only = in.query_rows.defined() && !in.target_mapping.defined();
  if (!rows_only && !in.target_mapping.defined()) {
    // Every position (training): token-wise work on the real tokens only.
    auto packing = TokenPacking::of(in.padding);
    packing.plain_attention = !in.perm_mask.defined();
    packing.causal = true;
    if (packing.worthwhile() || (packing.plain_attention && packed_attention_applies(in.hidden))) {
      auto rows = embedding_dropout(packing.pack(add_positions(in.hidden, position_embedding)));
      for (const auto& block : *blocks) rows = block->as<TransformerLayer>()->forward_packed(rows, blocked, packing);
      return packing.unpack(ln_final(rows));
    }
  }
  if (rows_only && !is_training() && !in.perm_mask.defined() && causal_scoring_applies(in.hidden))
    return causal_last_positions(blocks, ln_final, add_positions(in.hidden, position_embedding), in.padding, in.query_rows);
  auto h = embedding_dropout(add_positions(in.hidden, position_embedding));
  for (size_t i = 0; i < blocks->size(); ++i)
    h = blocks->ptr(i)->as<TransformerLayer>()->forward(h, blocked, rows_only && i + 1 == blocks->size() ? in.query_rows : torch::Tensor());
  h = ln_final(h);
  return in.target_mapping.defined() ? map_targets(h, in.target_mapping) : h;
}

}  // namespace seqrec::model
