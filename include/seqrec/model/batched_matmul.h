#pragma once
#include <ATen/core/Tensor.h>

namespace seqrec::model {

/// a [..., M, K] @ b [..., K, N] (or b^T when `transpose_b`, b [..., N, K]) with autograd, for tensors whose
/// batch dimensions match. Float CPU tensors run a small vectorised kernel per matrix (BLAS sgemm for
/// large ones): LibTorch 1.13's bmm slices the batch with select() calls that cost more than the math for
/// attention-sized matrices (bench/NOTES.md). Other dtypes and devices use at::matmul.
at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b, bool transpose_b = false);

}  // namespace seqrec::model
