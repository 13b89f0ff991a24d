#pragma once
#include <torch/nn/module.h>

#include <memory>

#include "seqrec/model/model_config.h"

namespace seqrec::model {

/// What every body reads: the input block's output and the masking scheme's constraints.
struct BodyInput {
  torch::Tensor hidden;          ///< [B, L, D] from the input block
  torch::Tensor padding;         ///< [B, L] bool, true on padding
  bool causal = false;           ///< query i sees keys <= i only (enforced inside attention)
  torch::Tensor perm_mask;       ///< plm: [B, L, L] bool, true where query i must not see key j; else undefined
  torch::Tensor target_mapping;  ///< plm: [B, P, L] float; the body then returns the P mapped positions
  /// [B] int64, or undefined: only the output at this position of each row is needed (scoring the next item).
  /// A body may then return [B, 1, D] and skip the other positions where its last layer allows (GPT-2 does).
  torch::Tensor query_rows;
};

/// A sequence encoder: gpt2, bert, albert, electra, xlnet, transfo_xl, gru or lstm (one file each).
class BodyImpl : public torch::nn::Module {
 public:
  /// Returns [B, L, D], [B, P, D] when input.target_mapping is defined, or [B, 1, D] when it honours query_rows.
  virtual torch::Tensor forward(const BodyInput& input) = 0;
};

/// Builds the body of a resolved config.
std::shared_ptr<BodyImpl> make_body(const ModelConfig& resolved);

/// Learned absolute positions for `max_length + 1` positions (an appended [MASK] position fits): adds them to x.
torch::Tensor add_positions(const torch::Tensor& x, torch::nn::Embedding& positions);

/// [B, P, D] rows of hidden [B, L, D] that target_mapping [B, P, L] selects (a body without two streams).
torch::Tensor map_targets(const torch::Tensor& hidden, const torch::Tensor& target_mapping);

}  // namespace seqrec::model
