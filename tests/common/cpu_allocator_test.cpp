#include "seqrec/common/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <cstdint>
#include <fstream>
#include <sstream>

#include "support.h"

namespace seqrec {

namespace {
bool transparent_huge_pages_available() {
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes;
  return std::getline(f, modes) && modes.find("[never]") == std::string::npos;
}

/// AnonHugePages (kB) of the mapping in /proc/self/smaps that holds `address`; -1 when none does.
int64_t huge_page_kb_at(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= a && a < hi;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stoll(line.substr(14));
    }
  }
  return -1;
}
}  // namespace

TEST(CpuAllocatorTest, LargeTensorsGetHugePagesAndStayCorrect) {
  use_huge_pages_for_large_tensors();
  use_huge_pages_for_large_tensors();  // idempotent
  EXPECT_NE(c10::GetCPUAllocator(), c10::GetDefaultCPUAllocator());

  auto big = torch::ones({64, 1 << 20});  // 256 MB, written on creation
  EXPECT_EQ(big.sum().item<double>(), 64.0 * (1 << 20));
  auto product = torch::mm(torch::ones({1024, 64}), torch::ones({64, 2048}));  // 8 MB result
  EXPECT_TRUE(product.eq(64).all().item<bool>());
#ifdef __linux__
  if (!transparent_huge_pages_available()) GTEST_SKIP() << "transparent huge pages are off on this kernel";
  // The block's first bytes sit before a 2 MB boundary, in ordinary pages; its middle is advised.
  EXPECT_GT(huge_page_kb_at(static_cast<char*>(big.data_ptr()) + (128 << 20)), 0) << "the 256 MB tensor has no huge pages";
#endif
}

}  // namespace seqrec
