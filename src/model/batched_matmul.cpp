#include "seqrec/model/batched_matmul.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/autograd.h>

#include "seqrec/common/error.h"

namespace seqrec::model {

namespace {

/// C[M,N] = X[M,K] Y[K,N], all row-major and contiguous. The i-k-j order keeps the inner loop a contiguous
/// axpy that the compiler vectorises; target_clones adds an AVX2+FMA (x86-64-v3) build picked at run time.
__attribute__((target_clones("arch=x86-64-v3", "default"))) void small_gemm(const float* __restrict x, const float* __restrict y, float* __restrict c, int64_t M,
                                                                     int64_t K, int64_t N) {
  for (int64_t i = 0; i < M; ++i) {
    float* ci = c + i * N;
    for (int64_t j = 0; j < N; ++j) ci[j] = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const float a = x[i * K + k];
      const float* yk = y + k * N;
      for (int64_t j = 0; j < N; ++j) ci[j] += a * yk[j];
    }
  }
}

/// out[i] = op(x[i]) @ op(y[i]) for every matrix i, op = transpose when asked.
at::Tensor sgemm_per_matrix(const at::Tensor& x_in, const at::Tensor& y_in, bool tx, bool ty) {
  // Transposes are materialised once for the whole batch, so the kernel only sees row-major operands.
  auto x = (tx ? x_in.transpose(-2, -1) : x_in).contiguous();
  auto y = (ty ? y_in.transpose(-2, -1) : y_in).contiguous();
  const int64_t M = x.size(-2), K = x.size(-1), N = y.size(-1);
  SEQREC_ASSERT(y.size(-2) == K, "inner sizes differ");
  auto sizes = x.sizes().vec();
  sizes.back() = N;
  auto out = at::empty(sizes, x.options());
  const int64_t batch = x.numel() / (M * K);
  const float* px = x.data_ptr<float>();
  const float* py = y.data_ptr<float>();
  float* po = out.data_ptr<float>();
  const bool small = M * K * N <= 64 * 64 * 64;
  at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if (small)
        small_gemm(px + i * M * K, py + i * K * N, po + i * M * N, M, K, N);
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
                    1.0f, px + i * M * K, static_cast<int>(K), py + i * K * N, static_cast<int>(N), 0.0f, po + i * M * N,
                    static_cast<int>(N));
    }
  });
  return out;
}

class BatchedMatmul : public torch::autograd::Function<BatchedMatmul> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, bool transpose_b) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["transpose_b"] = transpose_b;
    return sgemm_per_matrix(a, b, false, transpose_b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    const auto& b = saved[1];
    const bool transpose_b = ctx->saved_data["transpose_b"].toBool();
    const auto& g = grads[0];
    // C = A B:   dA = G B^T, dB = A^T G.   C = A B^T:  dA = G B,  dB = G^T A.
    at::Tensor grad_a = sgemm_per_matrix(g, b, false, !transpose_b);
    at::Tensor grad_b = transpose_b ? sgemm_per_matrix(g, a, true, false) : sgemm_per_matrix(a, g, true, false);
    return {grad_a, grad_b, at::Tensor()};
  }
};

}  // namespace

at::Tensor batched_matmul(const at::Tensor& a, const at::Tensor& b, bool transpose_b) {
  const bool fast = a.device().is_cpu() && b.device().is_cpu() && a.scalar_type() == at::kFloat &&
                    b.scalar_type() == at::kFloat && a.dim() >= 3 && a.dim() == b.dim() &&
                    a.sizes().slice(0, a.dim() - 2) == b.sizes().slice(0, b.dim() - 2);
  if (!fast) return at::matmul(a, transpose_b ? b.transpose(-2, -1) : b);
  return BatchedMatmul::apply(a, b, transpose_b);
}

}  // namespace seqrec::model
