// Test support: an Env that wraps another and injects faults: the Nth write fails (an I/O
// error, no space left, or torn: an append stops half-way; an atomic write, which cannot
// tear, leaves the old file), and a clock that runs at another rate or jumps ahead.
#pragma once

#include <atomic>
#include <mutex>

#include "fl/env.h"

namespace fl::testing {

class FaultEnv : public Env {
 public:
  enum class Fault { kIoError, kNoSpace, kTorn };

  explicit FaultEnv(Env& base) : base_(base), origin_(base.Now()) {}

  // The `n`-th write from now on (1 = the next; writes are WriteFileAtomic and
  // AppendToFile calls) fails with `fault`; 0 clears it.
  void FailWrite(uint64_t n, Fault fault = Fault::kIoError);
  // Every write from now on fails with `fault` (a full disk), until Heal().
  void FailAllWrites(Fault fault);
  void Heal();
  uint64_t writes() const { return writes_; }
  uint64_t failed_writes() const { return failed_; }
  // Time from now on passes `rate` times as fast (0.5: a slow clock).
  void SetClockRate(double rate);
  // The clock jumps forward by `d`.
  void JumpClock(Duration d);

  Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) override;
  Status AppendToFile(const std::string& path, std::string_view contents) override;
  StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    return base_.ReadFile(path, max_bytes);
  }
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override { return base_.ListDir(path); }
  Status RemoveFile(const std::string& path) override { return base_.RemoveFile(path); }
  Status MakeDirs(const std::string& path) override { return base_.MakeDirs(path); }
  bool FileExists(const std::string& path) override { return base_.FileExists(path); }
  bool IsDirectory(const std::string& path) override { return base_.IsDirectory(path); }
  StatusOr<uint64_t> FileSize(const std::string& path) override { return base_.FileSize(path); }
  StatusOr<unsigned> FileMode(const std::string& path) override { return base_.FileMode(path); }
  Status Symlink(const std::string& target, const std::string& link) override {
    return base_.Symlink(target, link);
  }
  Time Now() override;
  std::chrono::system_clock::time_point WallTime() override { return base_.WallTime(); }
  void SleepFor(Duration d) override { base_.SleepFor(d); }

 private:
  // The fault for this write, if any.
  bool NextWriteFails(Fault* fault);
  Status Failure(Fault fault, const std::string& path);

  Env& base_;
  std::mutex mu_;
  uint64_t writes_ = 0, failed_ = 0;
  uint64_t fail_at_ = 0;
  bool fail_all_ = false;
  Fault fault_ = Fault::kIoError;
  // Clock: Now() = origin_ + offset_ + rate_ * (base.Now() - origin_), kept continuous.
  Time origin_;
  Duration offset_{0};
  double rate_ = 1.0;
};

}  // namespace fl::testing
