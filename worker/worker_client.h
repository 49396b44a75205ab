// The worker's side of a federation: joins through its Transport (HELLO -> WELCOME with
// the plan), builds its trainer, answers the coordinator's requests and takes part in
// every round (round_participant.h) until FINISH (final_evaluation.h). It owns no socket
// and no file: the Transport, the Env and the trainer factory are given to it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "coordinator_link.h"
#include "data/dataset.h"
#include "final_evaluation.h"
#include "fl/env.h"
#include "fl/plan.h"
#include "fl/secagg/identity.h"
#include "fl/transport.h"
#include "options.h"
#include "plaintext_audit.h"
#include "rejoin_backoff.h"
#include "round_participant.h"
#include "teacher_ballot.h"
#include "vote_noise.h"
#include "training/trainer.h"

namespace fl::worker {

// Builds the trainer once the plan is known (WELCOME).
using TrainerFactory = std::function<StatusOr<std::unique_ptr<Trainer>>(const Plan& plan, data::Split data)>;
// The product's factory: Trainer::Create on the configured device with the hospital's seed.
TrainerFactory LibTorchTrainerFactory(const WorkerOptions& options);

class WorkerClient : public CoordinatorLink {
 public:
  // `audit_plaintext_dir`: if not empty, the quantised plaintext update of every round
  // is written there (only when the operator asks for it on the command line).
  // `vote_noise` (fl-worker vote only; it must outlive the client) adds this hospital's
  // noise to its teachers' vote counts.
  WorkerClient(WorkerOptions options, data::Split data, secagg::Identity identity, secagg::Roster roster,
               Transport& transport, Env& env, TrainerFactory make_trainer, std::string audit_plaintext_dir,
               VoteNoiseSource* vote_noise = nullptr);
  ~WorkerClient() override;

  // Runs until the federation ends for this worker (exit code 0 after its final report,
  // or when the coordinator says training is over), rejoining whenever its session is
  // lost (the coordinator restarted, was unreachable, or dropped it) unless options.once.
  // Returns the process exit code.
  int Run();
  // Asks Run() to return soon (SIGTERM; from any thread or a signal handler): the round in
  // progress is abandoned and the coordinator told.
  void RequestStop() { stop_ = true; }

  Status Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
              std::vector<Frame> payload = {}) override;

 private:
  // Handles one message; a non-OK status ends the worker (kAborted: only the session).
  Status Handle(const Message& m);
  Status OnWelcome(const Message& m);
  Status OnInitRequest();
  Status OnAbort(const Message& m);
  Status SendHello();
  // fl-worker contribute: reads the data vector this worker offers.
  Status LoadContribution();
  // fl-worker ask: sends the student's samples as queries; then its labels arrive.
  Status SendQueries();
  Status OnLabels(const Message& m);
  // The session ended (`reason`): the round in progress is abandoned and, unless `once`,
  // the worker asks to rejoin after a backoff delay. Non-OK: the worker ends.
  Status LoseSession(const std::string& reason);

  WorkerOptions options_;
  secagg::Identity identity_;
  secagg::Roster roster_;
  Transport& transport_;
  Env& env_;
  TrainerFactory make_trainer_;
  std::optional<data::Split> data_;  // moved into the trainer after WELCOME
  PlaintextAudit audit_;
  Membership who_;
  Plan plan_;
  std::unique_ptr<Trainer> trainer_;
  // The untrained model as built from the plan (shared tensors): all that INIT_REQUEST ever
  // gets, whatever training has happened since.
  std::vector<float> initial_model_;
  LocalInputs inputs_;
  std::optional<DataVector> vector_;  // fl-worker contribute only
  data::Dataset validation_;           // ... held out of the training split
  VoteNoiseSource* vote_noise_;
  std::optional<TeacherBallot> ballot_;  // fl-worker vote only
  data::Dataset query_pool_;             // fl-worker ask only: the samples asked about
  std::atomic<bool> stop_{false};
  RejoinBackoff backoff_;
  // Handshakes that failed without a definite refusal, in a row: a lossy link retries, a
  // wrong key gives up after kMaxHandshakeFailures.
  static constexpr int kMaxHandshakeFailures = 5;
  int handshake_failures_ = 0;
  Env::Time next_hello_{};    // when to (re)send HELLO while not joined
  bool ever_joined_ = false;
  bool over_ = false;         // the coordinator said the federation is over
  // Declared after the trainer: destroyed first, so no background work outlives it.
  RoundParticipant rounds_;
  FinalEvaluation final_;
};

}  // namespace fl::worker
