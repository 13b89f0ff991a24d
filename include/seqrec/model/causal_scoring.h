#pragma once
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

namespace seqrec::model {

/// Scoring's pass through pre-LayerNorm causal transformer layers (GPT-2) without LibTorch's per-op cost:
/// plain loops and one cblas_sgemm per projection, on each row's positions 0..query_rows[b] only (a causal
/// query never reads a later position, so right padding costs nothing). Same arithmetic as
/// TransformerLayer::forward with query_rows in eval mode: it runs only where that holds (CPU, float, no
/// autograd) and is tested against it.
///   layers: TransformerLayer modules (pre-norm); x: [B, L, D] (positions added); padding: [B, L] bool;
///   query_rows: [B] int64. Returns final_norm of each row's query position, [B, 1, D].
torch::Tensor causal_last_positions(const torch::nn::ModuleList& layers, const torch::nn::LayerNorm& final_norm,
                                    const torch::Tensor& x, const torch::Tensor& padding, const torch::Tensor& query_rows);

/// True when causal_last_positions applies to these inputs (CPU float, no gradient wanted).
bool causal_scoring_applies(const torch::Tensor& x);

}  // namespace seqrec::model
