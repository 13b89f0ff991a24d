#pragma once
#include <torch/nn/modules/linear.h>

#include <memory>

#include "seqrec/model/bert.h"

namespace seqrec::model {

/// ELECTRA: a discriminator encoder (the body used for recommendation) and a small generator encoder
/// (body.generator_layers; the discriminator itself when body.tied_generator) that proposes replacements for
/// masked items; `rtd_head` scores each position of a corrupted session as replaced or original.
class ElectraBodyImpl : public BodyImpl {
 public:
  explicit ElectraBodyImpl(const ModelConfig& config);
  /// The discriminator.
  torch::Tensor forward(const BodyInput& input) override;
  /// The generator (the discriminator when tied).
  torch::Tensor generate(const BodyInput& input);
  /// Replaced-token logits [B, L] for discriminator states [B, L, D].
  torch::Tensor replaced_logits(const torch::Tensor& hidden);

  std::shared_ptr<BertBodyImpl> discriminator, generator;
  torch::nn::Linear rtd_head{nullptr};
};

}  // namespace seqrec::model
