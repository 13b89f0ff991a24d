#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <torch/types.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "seqrec/common/runtime.h"

namespace seqrec::test {

namespace fs = std::filesystem;

/// A fresh temporary folder per test, removed afterwards; seeds LibTorch so tests repeat.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    seed_everything(1234);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("seqrec_test_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" +
                                        std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path path(const std::string& name) const { return dir_ / name; }
  fs::path write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return dir_ / name;
  }
  fs::path dir_;
};

/// Result of running the seqrec binary.
struct CliResult {
  int exit_code;
  std::string output;  ///< stdout and stderr together
};

/// Runs `seqrec <args>` through the shell (with `env`, e.g. "A=1 B=2", set for it), capturing both streams, or only
/// stdout when `stderr_to` names a file for stderr.
inline CliResult run_cli(const std::string& args, const std::string& env = "", const std::string& stderr_to = "") {
  std::string command = (env.empty() ? "" : "env " + env + " ") + std::string(SEQREC_CLI_PATH) + " " + args +
                        (stderr_to.empty() ? " 2>&1" : " 2>'" + stderr_to + "'");
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

/// A loopback TCP port nobody listens on now (for a server a test starts).
inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  close(fd);
  return port;
}

inline void expect_tensor_near(const at::Tensor& a, const at::Tensor& b, double tolerance = 1e-5) {
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_TRUE(torch::allclose(a, b, tolerance, tolerance)) << "max difference " << (a - b).abs().max().item<double>();
}

}  // namespace seqrec::test
