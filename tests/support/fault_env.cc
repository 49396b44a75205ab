#include "fault_env.h"

namespace fl::testing {

void FaultEnv::FailWrite(uint64_t n, Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_at_ = n == 0 ? 0 : writes_ + n;
  fault_ = fault;
}

void FaultEnv::FailAllWrites(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_ = true;
  fault_ = fault;
}

void FaultEnv::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  fail_all_ = false;
  fail_at_ = 0;
}

bool FaultEnv::NextWriteFails(Fault* fault) {
  std::lock_guard<std::mutex> lock(mu_);
  ++writes_;
  if (fail_all_ || writes_ == fail_at_) {
    ++failed_;
    *fault = fault_;
    return true;
  }
  return false;
}

Status FaultEnv::Failure(Fault fault, const std::string& path) {
  if (fault == Fault::kNoSpace) return ResourceExhausted("write " + path + ": no space left on device");
  return Internal("write " + path + ": input/output error (injected)");
}

Status FaultEnv::WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) {
  Fault fault;
  if (NextWriteFails(&fault)) return Failure(fault, path);  // an atomic write never tears
  return base_.WriteFileAtomic(path, contents, mode);
}

Status FaultEnv::AppendToFile(const std::string& path, std::string_view contents) {
  Fault fault;
  if (!NextWriteFails(&fault)) return base_.AppendToFile(path, contents);
  if (fault == Fault::kTorn) (void)base_.AppendToFile(path, contents.substr(0, contents.size() / 2));
  return Failure(fault, path);
}

Env::Time FaultEnv::Now() {
  const Time now = base_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  return origin_ + offset_ + std::chrono::duration_cast<Duration>((now - origin_) * rate_);
}

void FaultEnv::SetClockRate(double rate) {
  const Time now = base_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  // Keep Now() continuous: fold the time so far (at the old rate) into the offset.
  offset_ += std::chrono::duration_cast<Duration>((now - origin_) * (rate_ - 1.0));
  origin_ = now;
  rate_ = rate;
}

void FaultEnv::JumpClock(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  offset_ += d;
}

}  // namespace fl::testing
