#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

#include "seqrec/common/options_reader.h"

namespace seqrec {

/// Sets LibTorch's intra-op threads; 0 means every core (LibTorch's OpenMP would start with 1 here). Also
/// turns on huge pages for large tensors (common/cpu_allocator.h).
void set_threads(int threads);

/// Parses "cpu", "cuda", "cuda:N" or "auto" (CUDA when available, else CPU). A CPU build, a machine without a
/// GPU or an index past the last GPU each get their own message.
c10::Device parse_device(const std::string& name);

/// Whether this CPU computes bf16 natively (AVX512-BF16 or AMX-BF16).
bool cpu_supports_bf16();

/// The arithmetic of the forward pass: fp32, or bf16 under autocast (matmuls in bf16, reductions in fp32).
enum class Precision { fp32, bf16 };

/// Parses "fp32" or "bf16"; bf16 needs a GPU or a CPU with native bf16.
const Choices<Precision>& precision_choices();  ///< fp32, bf16
/// The precision named, checked as require_precision does.
Precision parse_precision(const std::string& name, c10::Device device);
/// Refuses bf16 on a CPU without native bf16 instructions, where it would only be slower.
void require_precision(Precision precision, c10::Device device);

/// Runs the forward passes of its scope under LibTorch's autocast in bf16 on `device`'s type (a no-op for fp32),
/// as torch.autocast does: matmuls and attention in bf16, softmax, norms and losses in fp32.
class AutocastScope {
 public:
  AutocastScope(Precision precision, c10::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  c10::DeviceType device_type_;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_;
};

/// Seeds LibTorch's generator (CPU and CUDA) so runs repeat.
void seed_everything(uint64_t seed);

}  // namespace seqrec
