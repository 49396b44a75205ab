// The audit record of what the coordinator received (docs/audit.md): with an audit
// directory, the body and payload frames of every secure-aggregation message, one line
// per message in coordinator/transcript.jsonl, and each round's unmasked sum. Without
// one, it records nothing.
#pragma once

#include <string>

#include "fl/env.h"
#include "fl/ring.h"
#include "fl/wire.h"

namespace fl::coordinator {

class AuditLog {
 public:
  AuditLog(Env& env, std::string dir) : env_(env), dir_(std::move(dir)) {
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  }

  bool enabled() const { return !dir_.empty(); }
  Status Open();
  // The highest protocol round recorded (0 if none), so that a resumed run's rounds
  // never mix with the earlier run's.
  uint32_t HighestRound();
  // Records message `m` of worker `worker_id` (`name`); `step` names the protocol step.
  void RecordMessage(uint32_t worker_id, const std::string& name, const Message& m, const std::string& step);
  Status RecordSum(uint32_t protocol_round, const RingVector& sum);

 private:
  std::string RoundDir(uint32_t protocol_round) const;

  Env& env_;
  std::string dir_;
};

}  // namespace fl::coordinator
