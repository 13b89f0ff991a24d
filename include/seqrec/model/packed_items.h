#pragma once
#include <ATen/core/Tensor.h>

#include <utility>

namespace seqrec::model {

/// The item vectors of a catalogue laid out once for fast top-k scoring: groups of 16 items stored
/// [E][16] (the last group zero-padded), so one pass scores 16 items for several queries with no
/// horizontal sums and no per-call packing. LibTorch's full-matrix product plus topk spends more time on
/// memory (OpenBLAS packs the 50k x E matrix on every call, the [B, 50k] result page-faults, topk sorts)
/// than on the math (bench/NOTES.md).
class PackedItems {
 public:
  /// vectors [N, E] and bias [N] (or undefined) float; ids below `first` are never scored.
  PackedItems(const at::Tensor& vectors, const at::Tensor& bias, int64_t first);
  /// The k best ids for every query row [B, E], scored (query · vectors[j] + bias[j]) / temperature:
  /// {values [B, k'] float, ids [B, k'] int64}, best first (ties: the lower id), k' = min(k, N - first).
  /// Thread-safe; splits the catalogue over LibTorch's intra-op threads.
  std::pair<at::Tensor, at::Tensor> top_k(const at::Tensor& query, float temperature, int64_t k) const;

 private:
  at::Tensor packed_;  ///< [groups, E, 16]
  at::Tensor bias_;    ///< [N] or undefined
  int64_t num_items_, dim_, first_;
};

/// One-off form of PackedItems(vectors, bias, first).top_k(query, temperature, k).
std::pair<at::Tensor, at::Tensor> top_k_inner_product(const at::Tensor& query, const at::Tensor& vectors,
                                                      const at::Tensor& bias, float temperature, int64_t k, int64_t first);

}  // namespace seqrec::model
