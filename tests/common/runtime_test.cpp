#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

#include "seqrec/common/build_info.h"
#include "seqrec/common/error.h"
#include "seqrec/common/runtime.h"

namespace seqrec {

namespace {
/// The message parse_device / parse_precision throw for `call`, or "" when it does not throw.
template <typename Call>
std::string error_of(Call call) {
  try {
    call();
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "";
}

/// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};
}  // namespace

TEST(RuntimeTest, DeviceNamesAreParsedAndAMissingGpuIsAClearError) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_NE(error_of([] { parse_device("gpu"); }).find("--device must be cpu, cuda, cuda:N or auto; got 'gpu'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_device("cuda:x"); }).find("got 'cuda:x'"), std::string::npos);
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_TRUE(parse_device("auto").is_cpu());
  for (const char* name : {"cuda", "cuda:3"}) {
    const std::string message = error_of([&] { parse_device(name); });
    EXPECT_NE(message.find(std::string("--device ") + name), std::string::npos) << message;
    EXPECT_TRUE(message.find("built without CUDA") != std::string::npos ||
                message.find("shows no GPU") != std::string::npos) << message;
  }
}

TEST(RuntimeTest, Bf16NeedsACpuThatComputesIt) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_EQ(parse_precision("fp32", cpu), Precision::fp32);
  EXPECT_NE(error_of([&] { parse_precision("fp16", cpu); }).find("--precision must be fp32 or bf16, got 'fp16'"),
            std::string::npos);
  {
    ScopedEnv without("SEQREC_CPU_BF16", "0");
    const std::string message = error_of([&] { parse_precision("bf16", cpu); });
    EXPECT_NE(message.find("--precision bf16: this CPU has no bf16"), std::string::npos) << message;
  }
  ScopedEnv with("SEQREC_CPU_BF16", "1");
  EXPECT_EQ(parse_precision("bf16", cpu), Precision::bf16);
}

TEST(RuntimeTest, AutocastScopeRunsMatmulsInBf16AndRestoresFp32) {
  auto a = at::rand({4, 8}), b = at::rand({8, 3});
  {
    AutocastScope scope(Precision::bf16, c10::Device(c10::kCPU));
    auto product = at::mm(a, b);
    EXPECT_EQ(product.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(at::allclose(product.to(at::kFloat), at::mm(a, b).to(at::kFloat)));
    {
      AutocastScope fp32(Precision::fp32, c10::Device(c10::kCPU));  // a no-op: the outer scope still holds
      EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
    }
  }
  EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
}

TEST(RuntimeTest, BuildInfoNamesLibTorchCudaBlasAndThreads) {
  const std::string info = build_info();
  EXPECT_EQ(info.rfind("seqrec " + seqrec_version() + "\n", 0), 0u) << info;
  EXPECT_NE(info.find(std::string("LibTorch ") + TORCH_VERSION + "\n"), std::string::npos) << info;
  EXPECT_EQ(std::string(TORCH_VERSION).rfind("2.", 0), 0u) << "seqrec builds on LibTorch 2.x";
  EXPECT_NE(info.find("CUDA: "), std::string::npos) << info;
  EXPECT_NE(info.find("GPUs visible: " + std::to_string(torch::cuda::is_available() ? torch::cuda::device_count() : 0)),
            std::string::npos) << info;
  EXPECT_NE(info.find("BLAS: LibTorch "), std::string::npos) << info;
  EXPECT_NE(info.find("threads: intra-op " + std::to_string(at::get_num_threads())), std::string::npos) << info;
}

}  // namespace seqrec
