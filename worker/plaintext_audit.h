// AUDIT ONLY (fl-worker --audit-plaintext-dir, docs/audit.md): the quantised plaintext
// update of every round this worker masks, with what is needed to check the coordinator's
// sum against it. Written only when the operator asks for it on the command line.
#pragma once

#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/fixed_point.h"
#include "fl/ring.h"

namespace fl::worker {

struct PlaintextRecord {
  uint32_t round = 0;
  uint32_t worker_id = 0;
  uint64_t model_version = 0;
  uint64_t weight = 0;
  FixedPointParams params;
  std::vector<uint32_t> cohort;
};

class PlaintextAudit {
 public:
  // `dir` empty: records nothing.
  PlaintextAudit(Env& env, std::string dir, const std::string& hospital)
      : env_(env), dir_(dir.empty() ? "" : dir + "/worker-" + hospital) {}
  bool enabled() const { return !dir_.empty(); }
  Status Record(const PlaintextRecord& r, const RingVector& plaintext);

 private:
  Env& env_;
  std::string dir_;
};

}  // namespace fl::worker
