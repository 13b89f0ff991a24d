# Finds LibTorch 2.11-2.15 for seqrec, in this order:
#   1. a LibTorch named by CMAKE_PREFIX_PATH or Torch_DIR (a LibTorch zip, a GPU machine's own torch);
#   2. the torch wheel of SEQREC_PYTHON (default: the project's venv, which scripts/setup.sh makes), asked for
#      torch.utils.cmake_prefix_path.
# Sets SEQREC_TORCH_LIB_DIR (where libc10.so lies, for the RPATH and the wheel's own libgomp) and
# SEQREC_WITH_CUDA (ON when that LibTorch was built with CUDA).
set(SEQREC_TORCH_MIN_VERSION 2.11)
set(SEQREC_TORCH_MAX_VERSION 2.15)  # inclusive: any 2.15.x
set(SEQREC_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH
    "Python whose torch wheel provides LibTorch when CMAKE_PREFIX_PATH names none")

find_package(Torch CONFIG QUIET)
if(NOT Torch_FOUND)
  if(NOT EXISTS "${SEQREC_PYTHON}")
    message(FATAL_ERROR "LibTorch not found: run scripts/setup.sh (it makes .venv with the torch wheel), "
                        "or give a LibTorch 2.11-2.15 with -DCMAKE_PREFIX_PATH=/path/to/libtorch")
  endif()
  execute_process(
    COMMAND "${SEQREC_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _seqrec_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    ERROR_VARIABLE _seqrec_torch_error RESULT_VARIABLE _seqrec_torch_rc)
  if(NOT _seqrec_torch_rc EQUAL 0)
    message(FATAL_ERROR "${SEQREC_PYTHON} cannot import torch (${_seqrec_torch_error}): run scripts/setup.sh")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_seqrec_torch_prefix}")
  # A CUDA wheel carries CUDA's runtime libraries in site-packages/nvidia/cu*/lib: link those (the ones its
  # libtorch_cuda loads) rather than the local toolkit's, whose nvcc and headers the build still uses.
  get_filename_component(_seqrec_site_packages "${_seqrec_torch_prefix}/../../.." ABSOLUTE)
  file(GLOB _seqrec_wheel_cuda_libs "${_seqrec_site_packages}/nvidia/cu[0-9]*/lib")
  if(_seqrec_wheel_cuda_libs)
    list(GET _seqrec_wheel_cuda_libs 0 SEQREC_WHEEL_CUDA_LIB_DIR)
    file(GLOB _seqrec_cudart "${SEQREC_WHEEL_CUDA_LIB_DIR}/libcudart.so.[0-9]*")
    file(GLOB _seqrec_nvrtc "${SEQREC_WHEEL_CUDA_LIB_DIR}/libnvrtc.so.[0-9]*")
    set(CUDA_CUDART_LIBRARY "${_seqrec_cudart}" CACHE FILEPATH "CUDA runtime (the torch wheel's)")
    set(CUDA_nvrtc_LIBRARY "${_seqrec_nvrtc}" CACHE FILEPATH "NVRTC (the torch wheel's)")
    if(NOT CUDA_TOOLKIT_ROOT_DIR)
      set(CUDA_TOOLKIT_ROOT_DIR "$ENV{CUDA_HOME}")
      if(NOT CUDA_TOOLKIT_ROOT_DIR)
        set(CUDA_TOOLKIT_ROOT_DIR /usr/local/cuda)
      endif()
    endif()
    # With no GPU here, TorchConfig needs the architectures named (9.0: Hopper, the H100/H200).
    if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
      set(ENV{TORCH_CUDA_ARCH_LIST} "9.0")
    endif()
  endif()
  find_package(Torch CONFIG REQUIRED)
endif()

if(Torch_VERSION VERSION_LESS SEQREC_TORCH_MIN_VERSION OR
   Torch_VERSION VERSION_GREATER_EQUAL 2.16)
  message(FATAL_ERROR "LibTorch ${Torch_VERSION} found in ${Torch_DIR}: seqrec needs LibTorch "
                      "${SEQREC_TORCH_MIN_VERSION}-${SEQREC_TORCH_MAX_VERSION} (scripts/setup.sh installs 2.13.0)")
endif()

find_library(SEQREC_C10_LIBRARY c10 PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH REQUIRED)
get_filename_component(SEQREC_TORCH_LIB_DIR "${SEQREC_C10_LIBRARY}" DIRECTORY)

if(TORCH_CUDA_LIBRARIES OR TARGET torch_cuda)
  set(SEQREC_WITH_CUDA ON)
  set(SEQREC_WITH_CUDA_01 1)
else()
  set(SEQREC_WITH_CUDA OFF)
  set(SEQREC_WITH_CUDA_01 0)
endif()
message(STATUS "seqrec: LibTorch ${Torch_VERSION} from ${SEQREC_TORCH_LIB_DIR} (CUDA: ${SEQREC_WITH_CUDA})")

# Programs find LibTorch where they were built and, once installed, where it was found: no LD_LIBRARY_PATH.
list(APPEND CMAKE_BUILD_RPATH "${SEQREC_TORCH_LIB_DIR}" ${SEQREC_WHEEL_CUDA_LIB_DIR})
list(APPEND CMAKE_INSTALL_RPATH "${SEQREC_TORCH_LIB_DIR}" ${SEQREC_WHEEL_CUDA_LIB_DIR})
