#pragma once
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/rnn.h>

#include "seqrec/model/fast_dropout.h"
#include "seqrec/model/body.h"

namespace seqrec::model {

/// A GRU or LSTM stack (hidden size d_model, num_layers, dropout between layers): causal by construction. Its input
/// goes through a LayerNorm first: the item embeddings start small (N(0, 0.02), shared with the tied head), which
/// would leave the gates blind to the items for many steps.
class RnnBodyImpl : public BodyImpl {
 public:
  explicit RnnBodyImpl(const ModelConfig& config);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::GRU gru{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::LayerNorm ln_input{nullptr};
  FastDropout dropout{nullptr};
};

}  // namespace seqrec::model
