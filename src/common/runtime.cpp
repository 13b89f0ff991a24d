#include "seqrec/common/runtime.h"
#include "seqrec/build_config.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <cstdlib>
#include <string>
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
    c10::Device device(c10::kCPU);
    try {
      device = c10::Device(name);
    } catch (const c10::Error&) {
      SEQREC_CHECK(false, "--device must be cpu, cuda, cuda:N or auto; got '", name, "'");
    }
#if !SEQREC_WITH_CUDA
    SEQREC_CHECK(false, "--device ", name, ": this seqrec was built without CUDA (a CPU LibTorch); use --device cpu, "
                 "or build with a CUDA LibTorch (scripts/check_cuda_build.sh)");
#endif
    const auto gpus = static_cast<int64_t>(torch::cuda::device_count());
    SEQREC_CHECK(gpus > 0, "--device ", name, ": this seqrec has CUDA but the machine shows no GPU "
                 "(check nvidia-smi and CUDA_VISIBLE_DEVICES); use --device cpu");
    SEQREC_CHECK(!device.has_index() || device.index() < gpus, "--device ", name, ": this machine has ", gpus,
                 gpus == 1 ? " GPU (cuda:0)" : " GPUs (cuda:0 .. cuda:", gpus == 1 ? "" : std::to_string(gpus - 1),
                 gpus == 1 ? "" : ")");
    return device;
  }
  throw InvalidInput("--device must be cpu, cuda, cuda:N or auto; got '" + name + "'");
}

bool cpu_supports_bf16() {
  // SEQREC_CPU_BF16=0 or 1 overrides the detection (tests, and CPUs whose flags are masked by a hypervisor).
  if (const char* forced = std::getenv("SEQREC_CPU_BF16")) return std::string(forced) == "1";
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
}

const Choices<Precision>& precision_choices() {
  static const Choices<Precision> c = {{"fp32", Precision::fp32}, {"bf16", Precision::bf16}};
  return c;
}

Precision parse_precision(const std::string& name, c10::Device device) {
  const Precision precision = parse_choice(precision_choices(), name, "--precision");
  require_precision(precision, device);
  return precision;
}

void require_precision(Precision precision, c10::Device device) {
  SEQREC_CHECK(precision != Precision::bf16 || device.is_cuda() || cpu_supports_bf16(),
               "--precision bf16: this CPU has no bf16 instructions (AVX512-BF16 or AMX-BF16), where bf16 would run "
               "slower than fp32; use --precision fp32");
}

AutocastScope::AutocastScope(Precision precision, c10::Device device)
    : active_(precision == Precision::bf16), device_type_(device.type()) {
  if (!active_) return;
  was_enabled_ = at::autocast::is_autocast_enabled(device_type_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
  at::autocast::set_autocast_enabled(device_type_, true);
  at::autocast::set_autocast_dtype(device_type_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // The last scope out drops the cached bf16 copies of the weights, as torch.autocast's __exit__ does.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_type_, was_enabled_);
  at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

}  // namespace seqrec
