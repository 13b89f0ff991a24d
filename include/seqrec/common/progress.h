#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace seqrec {

/// A progress bar on stderr with rate and ETA when stderr is a terminal; plain log lines otherwise.
class ProgressBar {
 public:
  /// `total` units of work (0 = unknown), labelled `tag` (e.g. "[train] epoch 1/5"), counted in `unit`.
  ProgressBar(std::string tag, int64_t total, std::string unit);
  /// Advances by `n` units; `status` is shown after the bar (e.g. "loss 5.21").
  void update(int64_t n, const std::string& status = "");
  /// Prints the final line with the total elapsed time.
  void finish(const std::string& status = "");
  double elapsed_seconds() const;

 private:
  void draw(const std::string& status, bool final_line);

  std::string tag_;
  int64_t total_;
  std::string unit_;
  int64_t done_ = 0;
  bool terminal_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace seqrec
