// Training progress for people watching a worker: a live bar with rate and ETA when
// stderr is an interactive terminal, plain log lines every `interval_s` otherwise (log
// files, containers). No LibTorch.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fl::worker {

class Progress {
 public:
  // `total` units (samples) are expected; `label` starts every line ("round 3").
  Progress(std::string label, int64_t total, double interval_s = 30.0);
  ~Progress();  // finishes the bar line if one is open
  void Update(int64_t done, double loss);

  // Formats one status line (exposed for tests): label, bar (when width > 0), done/total,
  // rate in samples/s, ETA as m:ss and the running loss.
  static std::string Format(const std::string& label, int64_t done, int64_t total, double seconds, double loss,
                            int bar_width);

 private:
  std::string label_;
  int64_t total_;
  double interval_s_;
  bool interactive_;
  bool open_line_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace fl::worker
