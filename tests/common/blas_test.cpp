#include "seqrec/common/blas.h"

#include "support.h"

namespace seqrec {

TEST(BlasTest, ReportsTheOpenBlasKernel) {
  auto r = test::run_cli("--blas-info");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("kernel: ", 0), 0u) << r.output;
  EXPECT_FALSE(blas_kernel_name().empty()) << "LibTorch here is linked to OpenBLAS";
}

TEST(BlasTest, SlowKernelIsReplacedAndCheckedWhenAsked) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2 kernel to switch to";
  // OPENBLAS_CORETYPE=Prescott reproduces the mis-detection; SEQREC_BLAS=fix overrides even a user's choice.
  auto fixed = test::run_cli("--blas-info", "OPENBLAS_CORETYPE=Prescott SEQREC_BLAS=fix");
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  EXPECT_EQ(fixed.output.find("kernel: Prescott"), std::string::npos) << fixed.output;
  EXPECT_NE(fixed.output.find("(results checked)"), std::string::npos) << fixed.output;
  // By default a kernel the user chose is respected.
  auto kept = test::run_cli("--blas-info", "OPENBLAS_CORETYPE=Prescott");
  EXPECT_NE(kept.output.find("kernel: Prescott"), std::string::npos) << kept.output;
}

}  // namespace seqrec
