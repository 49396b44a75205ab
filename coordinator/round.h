// One round of masked aggregation at the coordinator. No I/O: the service layer feeds
// it verified messages and sends what it returns. The only vectors it holds are masked
// ring vectors, added into one running sum (memory O(d), whatever the cohort size).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include <zmq.hpp>

#include "fl.pb.h"
#include "fl/ring.h"
#include "fl/status.h"

namespace fl::coordinator {

enum class Phase { kAdvertiseKeys, kMaskedInput, kComplete };
const char* PhaseName(Phase p);

class Round {
 public:
  // `cohort`: worker ids; `vector_length`: d + 1 words (update plus weight).
  Round(uint32_t id, std::vector<uint32_t> cohort, uint64_t vector_length);

  uint32_t id() const { return id_; }
  Phase phase() const { return phase_; }
  const std::vector<uint32_t>& cohort() const { return cohort_; }
  bool InCohort(uint32_t worker) const;

  // Advertise-keys phase. Fails (and changes nothing) for a worker outside the cohort,
  // a second key, a key of the wrong size, or the wrong phase.
  Status OnAdvertiseKey(uint32_t worker, const wire::AdvertiseKey& msg);
  bool AllKeysIn() const { return keys_.size() == cohort_.size(); }
  // The cohort's keys; moves the round to the masked-input phase.
  StatusOr<wire::KeyList> CloseKeys();

  // Masked-input phase: adds the payload to the running sum.
  Status OnMaskedInput(uint32_t worker, const zmq::message_t& payload);
  bool AllInputsIn() const { return inputs_.size() == cohort_.size(); }
  // The cohort sum, once every input is in; moves the round to kComplete.
  StatusOr<RingVector> TakeSum();

  // Cohort members not yet heard from in the current phase.
  std::vector<uint32_t> Pending() const;

 private:
  uint32_t id_;
  std::vector<uint32_t> cohort_;
  std::set<uint32_t> cohort_set_;
  Phase phase_ = Phase::kAdvertiseKeys;
  std::map<uint32_t, std::string> keys_;
  std::set<uint32_t> inputs_;
  RingVector sum_;
};

}  // namespace fl::coordinator
