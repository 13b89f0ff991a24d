#pragma once
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/rnn.h>

#include "seqrec/model/body.h"

namespace seqrec::model {

/// A GRU or LSTM stack (hidden size d_model, num_layers, dropout between layers): causal by construction.
class RnnBodyImpl : public BodyImpl {
 public:
  explicit RnnBodyImpl(const ModelConfig& config);
  torch::Tensor forward(const BodyInput& input) override;

  torch::nn::GRU gru{nullptr};
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};

}  // namespace seqrec::model
