// Log lines for what peers get refused or rejected, rate-limited: in each period the first
// occurrence of each reason is logged at once, and repeats are counted and summed up in one
// line per reason when the period ends. 20,000 junk messages make a handful of lines, not
// 20,000, and every distinct reason still shows.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "fl/env.h"

namespace fl::coordinator {

class RejectionLog {
 public:
  RejectionLog(Env& env, std::string what, double period_s = 10.0)
      : env_(env), what_(std::move(what)), period_(Seconds(period_s)) {}
  // Records one; logs it or counts it.
  void Add(const std::string& reason);
  // Logs the repeats of a period that has ended (the event loop calls it on every tick).
  void Flush();
  uint64_t total() const { return total_; }

 private:
  static constexpr size_t kMaxReasons = 32;  // distinct reasons kept per period

  Env& env_;
  std::string what_;
  Env::Duration period_;
  Env::Time period_start_{};
  std::map<std::string, uint64_t> repeats_;  // reason -> repeats this period
  uint64_t other_ = 0;                       // repeats beyond kMaxReasons reasons
  uint64_t total_ = 0;
};

}  // namespace fl::coordinator
