// A teachers' hospital's part in a private vote (fl-worker vote, docs/privacy.md): its
// teachers (fl-worker teachers) vote on the query records the coordinator relays, and the
// Q x C counts leave only with the hospital's own share of the noise added, masked by
// secure aggregation. The hospital keeps its own privacy account of every sum its
// teachers' votes go into (state_dir/teachers/privacy-ledger.jsonl) and refuses a round
// past its own budget, whatever the coordinator's.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/privacy/rdp_accountant.h"
#include "fl/privacy/release_ledger.h"
#include "fl/ring.h"
#include "fl/status.h"
#include "fl/wire.h"
#include "data/dataset.h"
#include "options.h"
#include "teachers.h"
#include "vote_noise.h"

namespace fl::worker {

// A vote round as this hospital accepts it.
struct VoteRound {
  std::vector<float> records;  // the queries, record_floats() each
  int64_t classes = 0;
  double variance = 0;         // of this hospital's noise on each count: sigma^2 / guarantee
  privacy::Release release;    // what the round's sum releases, for this hospital's account
};

class TeacherBallot {
 public:
  // The teachers in o.state_dir (read once), voting on records shaped like this
  // hospital's own samples (`like`), and their privacy account so far; `noise` must outlive
  // the ballot.
  static StatusOr<TeacherBallot> Open(const WorkerOptions& o, const data::Dataset& like, VoteNoiseSource* noise);

  // Checks the ROUND_START of a vote round against this hospital's bounds: 2..1000 classes,
  // records of our size, sigma at least min_vote_sigma, and a noise guarantee of at most
  // our own min_survivors (so that any sum holding our share holds that many).
  StatusOr<VoteRound> ReadRound(const wire::RoundStart& rs, const Message& m, uint32_t round) const;
  // Accounts `r` against vote_epsilon_budget and records it; PermissionDenied, and
  // nothing recorded, when it would exceed the budget.
  Status Charge(const privacy::Release& r);
  double spent() const { return spent_.Epsilon(options_->vote_delta); }

  int64_t teachers() const { return teachers_.size(); }
  // The record size the queries must have, in floats.
  int64_t record_floats() const;
  // The teachers' counts on `records` (queries x record_floats() floats) over `classes`
  // classes, plus noise of `variance` per entry, as ring words.
  StatusOr<RingVector> Cast(std::vector<float> records, int64_t classes, double variance);

 private:
  TeacherBallot(const WorkerOptions& o, std::vector<int64_t> shape, VoteNoiseSource* noise, TeacherEnsemble teachers,
                privacy::ReleaseLedger ledger)
      : options_(&o),
        sample_shape_(std::move(shape)),
        noise_(noise),
        teachers_(std::move(teachers)),
        ledger_(std::move(ledger)) {}
  const WorkerOptions* options_;
  std::vector<int64_t> sample_shape_;
  VoteNoiseSource* noise_;
  TeacherEnsemble teachers_;
  privacy::ReleaseLedger ledger_;
  privacy::RdpAccountant spent_;
};

}  // namespace fl::worker
