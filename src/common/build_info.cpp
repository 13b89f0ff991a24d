#include "seqrec/common/build_info.h"
#include "seqrec/build_config.h"

#include "seqrec/common/blas.h"
#include "seqrec/common/runtime.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>


namespace seqrec {

namespace {
/// The BLAS LibTorch was built with, as at::show_config() names it ("BLAS_INFO=mkl").
std::string torch_blas() {
  const std::string config = at::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at == std::string::npos) return "unknown";
  const auto end = config.find_first_of(", \n", at);
  return config.substr(at + 10, end == std::string::npos ? std::string::npos : end - at - 10);
}
}  // namespace

std::string seqrec_version() { return SEQREC_VERSION; }

std::string build_info() {
  std::ostringstream out;
  out << "seqrec " << SEQREC_VERSION << "\n";
  out << "LibTorch " << TORCH_VERSION << "\n";
#if SEQREC_WITH_CUDA
  constexpr bool cuda_built = true;
#else
  constexpr bool cuda_built = false;
#endif
  out << "CUDA: " << (cuda_built ? "compiled in" : "not compiled in (CPU build)") << "\n";
  const auto gpus = cuda_built ? torch::cuda::device_count() : 0;
  out << "GPUs visible: " << gpus << "\n";
  const std::string kernel = blas_kernel_name();
  out << "BLAS: LibTorch " << torch_blas() << "; seqrec's own kernels OpenBLAS"
      << (kernel.empty() ? "" : " (" + kernel + ")") << "\n";
  out << "CPU bf16: " << (cpu_supports_bf16() ? "yes" : "no")
      << "\n";
  out << "threads: intra-op " << at::get_num_threads() << ", inter-op " << at::get_num_interop_threads();
  return out.str();
}

}  // namespace seqrec
