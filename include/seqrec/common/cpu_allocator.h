#pragma once
#include <cstddef>

namespace seqrec {

/// Tensors of at least this many bytes get transparent huge pages: glibc's largest mmap threshold, so such a
/// block is always a fresh mapping that goes back to the kernel when freed (smaller ones can come from the
/// heap, where advised pages would stay resident).
constexpr size_t kHugePageTensorBytes = size_t{32} << 20;

/// Makes LibTorch's CPU allocator ask the kernel for transparent huge pages (madvise) on large tensors. A
/// fresh 512 MB logits matrix otherwise costs 131,072 page faults on its first write, which halved the
/// output layer's GEMM rate (bench/NOTES.md). Idempotent; a no-op where THP is unavailable (not Linux, or
/// /sys/kernel/mm/transparent_hugepage/enabled is "never"). Called by set_threads().
void use_huge_pages_for_large_tensors();

}  // namespace seqrec
