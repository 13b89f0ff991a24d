#pragma once
#include <ATen/core/Tensor.h>

#include <utility>

namespace seqrec::model {

/// The item vectors of a catalogue laid out once for fast top-k scoring: groups of 16 items stored
/// [E][16] (the last group zero-padded), so one pass scores 16 items for several queries with no
/// horizontal sums and no per-call packing. LibTorch's full-matrix product plus topk spends more time on
/// memory (OpenBLAS packs the 50k x E matrix on every call, the [B, 50k] result page-faults, topk sorts)
/// than on the math (bench/NOTES.md).
///
/// Small batches are bound by reading the catalogue, so when every value fits in half precision (and the CPU
/// has AVX2, FMA and F16C) the groups are stored as halves: half the bytes per pass. Half-precision scores only
/// choose candidates: every item within a proven error bound of the k-th best is scored again from the float
/// vectors, so the result is exactly the float computation's.
class PackedItems {
 public:
  /// vectors [N, E] and bias [N] (or undefined) float; ids below `first` are never scored.
  PackedItems(const at::Tensor& vectors, const at::Tensor& bias, int64_t first);
  /// The k best ids for every query row [B, E], scored (query · vectors[j] + bias[j]) / temperature:
  /// {values [B, k'] float, ids [B, k'] int64}, best first (ties: the lower id), k' = min(k, N - first).
  /// Thread-safe; splits the catalogue over LibTorch's intra-op threads.
  std::pair<at::Tensor, at::Tensor> top_k(const at::Tensor& query, float temperature, int64_t k) const;
  /// Whether the groups are stored in half precision (candidates re-scored in float).
  bool half_precision() const { return half_; }

 private:
  at::Tensor packed_;   ///< [groups, E, 16]: half when half_ (the float vectors below decide), float otherwise
  at::Tensor vectors_;  ///< [N, E] float, kept when half_: candidates are scored again from it
  at::Tensor bias_;     ///< [N] or undefined
  int64_t num_items_, dim_, first_;
  bool half_ = false;
  float half_error_ = 0;  ///< the largest |v - half(v)| over every scored value
  float max_abs_ = 0;     ///< the largest |v| over every scored value
  float max_abs_bias_ = 0;
};

/// One-off form of PackedItems(vectors, bias, first).top_k(query, temperature, k).
std::pair<at::Tensor, at::Tensor> top_k_inner_product(const at::Tensor& query, const at::Tensor& vectors,
                                                      const at::Tensor& bias, float temperature, int64_t k, int64_t first);

}  // namespace seqrec::model
