// The delays between a worker's attempts to join or rejoin a federation: exponential
// (first, 2 first, 4 first, ... up to cap) with jitter (each delay drawn uniformly in
// [delay / 2, delay], libsodium randomness), so that hospitals that lost the same
// coordinator do not all knock at the same instant.
#pragma once

#include "fl/env.h"

namespace fl::worker {

class RejoinBackoff {
 public:
  explicit RejoinBackoff(double first_s = 1.0, double cap_s = 30.0) : first_s_(first_s), cap_s_(cap_s) {}
  // The delay before the next attempt.
  Env::Duration Next();
  // After a successful join: the next loss starts from `first_s` again.
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  double first_s_, cap_s_;
  int attempt_ = 0;
};

}  // namespace fl::worker
