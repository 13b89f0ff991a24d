#pragma once
#include "seqrec/model/bert.h"

namespace seqrec::model {

/// ALBERT: BERT with one set of layer weights shared across all num_layers, and a factorised item embedding
/// (size body.embedding_size, projected to d_model by the input block; the head projects back to tie).
class AlbertBodyImpl : public BertBodyImpl {
 public:
  explicit AlbertBodyImpl(const ModelConfig& config) : BertBodyImpl(config, /*share_layers=*/true) {}
};

}  // namespace seqrec::model
