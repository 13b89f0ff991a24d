#pragma once
#include <string>

namespace seqrec {

/// seqrec's own version ("0.1.0").
std::string seqrec_version();

/// What `seqrec --version` prints: seqrec's version, LibTorch's, whether CUDA is compiled in, the GPUs visible
/// now, the BLAS libraries in use (LibTorch's and seqrec's own) and the thread counts.
std::string build_info();

}  // namespace seqrec
