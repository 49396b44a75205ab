#include "round.h"

#include <algorithm>
#include <string>

#include "fl/crypto.h"
#include "fl/wire.h"

namespace fl::coordinator {

const char* PhaseName(Phase p) {
  switch (p) {
    case Phase::kAdvertiseKeys: return "advertise-keys";
    case Phase::kMaskedInput: return "masked-input";
    case Phase::kComplete: return "complete";
  }
  return "?";
}

Round::Round(uint32_t id, std::vector<uint32_t> cohort, uint64_t vector_length)
    : id_(id), cohort_(std::move(cohort)), sum_(vector_length) {
  std::sort(cohort_.begin(), cohort_.end());
  cohort_.erase(std::unique(cohort_.begin(), cohort_.end()), cohort_.end());
  cohort_set_.insert(cohort_.begin(), cohort_.end());
}

bool Round::InCohort(uint32_t worker) const { return cohort_set_.count(worker) > 0; }

Status Round::OnAdvertiseKey(uint32_t worker, const wire::AdvertiseKey& msg) {
  if (!InCohort(worker)) return FailedPrecondition("worker " + std::to_string(worker) + " is not in the cohort");
  if (phase_ != Phase::kAdvertiseKeys) {
    return FailedPrecondition(std::string("key advertised in phase ") + PhaseName(phase_));
  }
  if (msg.public_key().size() != crypto::kKeyBytes) {
    return InvalidArgument("public key of " + std::to_string(msg.public_key().size()) + " bytes");
  }
  if (keys_.count(worker)) return FailedPrecondition("second key from worker " + std::to_string(worker));
  keys_[worker] = msg.public_key();
  return Status::Ok();
}

StatusOr<wire::KeyList> Round::CloseKeys() {
  if (phase_ != Phase::kAdvertiseKeys || !AllKeysIn()) return FailedPrecondition("keys are not complete");
  wire::KeyList list;
  for (const auto& [id, key] : keys_) {
    auto* k = list.add_keys();
    k->set_worker_id(id);
    k->set_public_key(key);
  }
  phase_ = Phase::kMaskedInput;
  return list;
}

Status Round::OnMaskedInput(uint32_t worker, const zmq::message_t& payload) {
  if (!InCohort(worker)) return FailedPrecondition("worker " + std::to_string(worker) + " is not in the cohort");
  if (phase_ != Phase::kMaskedInput) {
    return FailedPrecondition(std::string("masked input in phase ") + PhaseName(phase_));
  }
  if (inputs_.count(worker)) return FailedPrecondition("second masked input from worker " + std::to_string(worker));
  FL_RETURN_IF_ERROR(AddRingFrame(payload, &sum_, "masked input"));
  inputs_.insert(worker);
  return Status::Ok();
}

StatusOr<RingVector> Round::TakeSum() {
  if (phase_ != Phase::kMaskedInput || !AllInputsIn()) return FailedPrecondition("inputs are not complete");
  phase_ = Phase::kComplete;
  return std::move(sum_);
}

std::vector<uint32_t> Round::Pending() const {
  std::vector<uint32_t> out;
  for (uint32_t w : cohort_) {
    const bool heard = phase_ == Phase::kAdvertiseKeys ? keys_.count(w) > 0 : inputs_.count(w) > 0;
    if (!heard && phase_ != Phase::kComplete) out.push_back(w);
  }
  return out;
}

}  // namespace fl::coordinator
