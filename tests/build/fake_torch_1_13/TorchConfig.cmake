# A stand-in for Debian's LibTorch 1.13: found, but too old for seqrec.
set(TORCH_FOUND TRUE)
set(TORCH_LIBRARIES "")
set(TORCH_INSTALL_PREFIX "${CMAKE_CURRENT_LIST_DIR}")
