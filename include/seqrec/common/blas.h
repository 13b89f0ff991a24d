#pragma once
#include <string>

namespace seqrec {

/// The OpenBLAS kernel in use ("Haswell", "Zen", "Prescott", ...), or "" when the BLAS is not OpenBLAS.
std::string blas_kernel_name();

/// Debian's OpenBLAS can detect a modern CPU as "Prescott" and run GEMMs ~6x slower. When that happens
/// on a CPU with AVX2 or AVX-512 and the user has not set OPENBLAS_CORETYPE, this re-executes the program
/// once with the matching kernel; after the switch it checks a GEMM against a plain reference and goes
/// back to the default kernel if the results differ. Call first thing in main(). Returns a one-line note of
/// what happened ("" when nothing was done). SEQREC_BLAS=keep turns this off; SEQREC_BLAS=fix applies it
/// even when OPENBLAS_CORETYPE names a slow kernel.
std::string ensure_fast_blas(int argc, char** argv);

}  // namespace seqrec
