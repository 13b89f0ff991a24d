#pragma once
#include <c10/core/Device.h>

#include <string>

namespace seqrec {

/// Sets LibTorch's intra-op threads; 0 means every core (LibTorch's OpenMP would start with 1 here). Also
/// turns on huge pages for large tensors (common/cpu_allocator.h).
void set_threads(int threads);

/// Parses "cpu", "cuda", "cuda:N" or "auto" (CUDA when available, else CPU).
c10::Device parse_device(const std::string& name);

/// Seeds LibTorch's generator (CPU and CUDA) so runs repeat.
void seed_everything(uint64_t seed);

}  // namespace seqrec
