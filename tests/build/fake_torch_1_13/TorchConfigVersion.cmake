# A stand-in for Debian's LibTorch 1.13 (libtorch-dev): only its version, for tests/build/torch_version_test.sh.
set(PACKAGE_VERSION "1.13.1")
set(PACKAGE_VERSION_COMPATIBLE TRUE)
