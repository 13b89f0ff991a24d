#include "seqrec/common/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <thread>

#include "seqrec/common/cpu_allocator.h"
#include "seqrec/common/error.h"

namespace seqrec {

void set_threads(int threads) {
  SEQREC_CHECK(threads >= 0, "--threads must be >= 0 (0 = all cores), got ", threads);
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  use_huge_pages_for_large_tensors();
}

c10::Device parse_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    SEQREC_CHECK(torch::cuda::is_available(), "--device ", name,
                 ": this LibTorch build or machine has no CUDA; use --device cpu");
    return c10::Device(name);
  }
  throw InvalidInput("--device must be cpu, cuda, cuda:N or auto; got '" + name + "'");
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace seqrec
