// This worker's part in rounds: on ROUND_START it checks the round against its own
// bounds, starts its local work in the background (training; or, in a merge federation,
// reading its data vector or scoring candidate merged models; or, in a private vote, its
// teachers' noisy vote counts) and, at the same time, the
// secure-aggregation steps (secagg::SecAggClient, no I/O); once the work is done and the
// shares are in, it encodes its vector in fixed point, masks it and sends it. The
// plaintext vector exists only here and is wiped once masked.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coordinator_link.h"
#include "data/dataset.h"
#include "fl/fixed_point.h"
#include "fl/secagg/client.h"
#include "fl/secagg/identity.h"
#include "local_job.h"
#include "merge_contribution.h"
#include "options.h"
#include "plaintext_audit.h"
#include "teacher_ballot.h"
#include "training/trainer.h"

namespace fl::worker {

// Who this worker is in the federation, fixed at WELCOME.
struct Membership {
  std::string session;
  uint32_t worker_id = 0;
};

class RoundParticipant {
 public:
  RoundParticipant(const WorkerOptions& options, const secagg::Identity& identity, const secagg::Roster& roster,
                   CoordinatorLink& link, PlaintextAudit& audit)
      : options_(options), identity_(identity), roster_(roster), link_(link), audit_(audit), merge_(options) {}
  ~RoundParticipant();

  // Joins the round `m` starts, with `trainer` (null when this worker only votes) and
  // `inputs` (which must outlive this object). An error means the coordinator asked for
  // something this worker refuses.
  Status Start(const Membership& who, Trainer* trainer, const LocalInputs& inputs, const Message& m);
  // A secure-aggregation message of the current round (others are ignored).
  Status OnSecAgg(const Message& m);
  // Sends the masked input once local training is done and the shares are in.
  Status Poll();
  // Leaves the current round (training is cancelled); a no-op when none is running.
  void Abandon(const std::string& reason);
  // Waits for any cancelled training to stop.
  void Settle();
  // Called once a data vector is masked, before it is sent (fl-worker contribute records it).
  void OnVectorSent(std::function<Status()> hook) { merge_.OnVectorSent(std::move(hook)); }
  bool in_round(uint32_t round) const { return round_ && round_->id == round; }
  uint32_t current_round() const { return round_ ? round_->id : 0; }

 private:
  struct RoundState {
    uint32_t id = 0;
    uint64_t model_version = 0;
    std::vector<uint32_t> cohort;
    FixedPointParams params;
    std::unique_ptr<secagg::SecAggClient> secagg;
    std::optional<wire::SecAggServerMessage> held_shares;  // waits for local training
    std::future<StatusOr<LocalResult>> local;
    std::optional<LocalResult> result;
    bool sent = false;  // the masked input has been sent
  };

  Status CheckRound(const RoundState& r, uint64_t weight) const;
  StatusOr<LocalJob> TrainingJob(Trainer& trainer, const LocalInputs& in, const wire::RoundStart& rs, const Message& m);
  StatusOr<LocalJob> VoteJob(const LocalInputs& in, const wire::RoundStart& rs, const Message& m);
  // Passes a coordinator message to the protocol state machine and sends its answer.
  Status Step(const wire::SecAggServerMessage& m);

  const WorkerOptions& options_;
  const secagg::Identity& identity_;
  const secagg::Roster& roster_;
  CoordinatorLink& link_;
  PlaintextAudit& audit_;
  Membership who_;
  std::optional<RoundState> round_;
  std::atomic<bool> cancel_{false};
  std::future<StatusOr<LocalResult>> abandoned_;
  // A contributor's data vector, and the merge rounds it may still enter.
  MergeContribution merge_;
};

}  // namespace fl::worker
