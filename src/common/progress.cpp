#include "seqrec/common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace seqrec {

namespace {
std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "--:--";
  int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02d:%02d", s / 60, s % 60);
  return buf;
}
}  // namespace

ProgressBar::ProgressBar(std::string tag, int64_t total, std::string unit)
    : tag_(std::move(tag)),
      total_(total),
      unit_(std::move(unit)),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t n, const std::string& status) {
  done_ += n;
  auto now = std::chrono::steady_clock::now();
  // Redraw a terminal bar 10 times a second; a log gets a line every 10 seconds.
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (terminal_ ? 0.1 : 10.0)) {
    last_draw_ = now;
    draw(status, false);
  }
}

void ProgressBar::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  draw(status, true);
}

void ProgressBar::draw(const std::string& status, bool final_line) {
  double elapsed = elapsed_seconds();
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  std::string line = tag_ + " ";
  if (total_ > 0) {
    const int width = 24;
    double fraction = std::min(1.0, static_cast<double>(done_) / total_);
    int filled = static_cast<int>(fraction * width);
    line += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    char buf[160];
    double eta = rate > 0 ? (total_ - done_) / rate : -1;
    std::snprintf(buf, sizeof buf, "%3.0f%% %lld/%lld %s, %.0f %s/s, %s %s", fraction * 100,
                  static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(), rate,
                  unit_.c_str(), final_line ? "took" : "ETA",
                  format_duration(final_line ? elapsed : eta).c_str());
    line += buf;
  } else {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%lld %s, %.0f %s/s, %s", static_cast<long long>(done_), unit_.c_str(),
                  rate, unit_.c_str(), format_duration(elapsed).c_str());
    line += buf;
  }
  if (!status.empty()) line += "  " + status;
  if (terminal_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace seqrec
