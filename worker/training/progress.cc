#include "training/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "fl/env.h"
#include "fl/log.h"

namespace fl::worker {

Progress::Progress(std::string label, int64_t total, double interval_s)
    : label_(std::move(label)), total_(std::max<int64_t>(total, 1)), interval_s_(interval_s),
      interactive_(isatty(STDERR_FILENO) == 1), start_(Env::Default().Now()), last_(start_) {}

Progress::~Progress() {
  if (open_line_) std::fputc('\n', stderr);
}

std::string Progress::Format(const std::string& label, int64_t done, int64_t total, double seconds, double loss,
                             int bar_width) {
  total = std::max<int64_t>(total, 1);
  done = std::clamp<int64_t>(done, 0, total);
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  const long eta_s = std::lround(eta);
  std::string bar;
  if (bar_width > 0) {
    const int filled = static_cast<int>(static_cast<double>(bar_width) * static_cast<double>(done) / static_cast<double>(total));
    bar = "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(bar_width - filled), '.') + "] ";
  }
  char line[256];
  std::snprintf(line, sizeof line, "%s %s%lld/%lld samples, %.1f samples/s, ETA %ld:%02ld, loss %.4f", label.c_str(),
                bar.c_str(), static_cast<long long>(done), static_cast<long long>(total), rate, eta_s / 60, eta_s % 60,
                loss);
  return line;
}

void Progress::Update(int64_t done, double loss) {
  const auto now = Env::Default().Now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (interactive_) {
    // Redraw at most ten times a second, and always at the end.
    if (since_last < 0.1 && done < total_) return;
    last_ = now;
    std::fprintf(stderr, "\r%s\033[K", Format(label_, done, total_, elapsed, loss, 30).c_str());
    std::fflush(stderr);
    open_line_ = true;
    return;
  }
  if (since_last < interval_s_ || done >= total_) return;
  last_ = now;
  FL_LOG(kInfo) << Format(label_, done, total_, elapsed, loss, 0);
}

}  // namespace fl::worker
