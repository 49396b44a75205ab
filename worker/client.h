// The worker's side of the federation: connects to the coordinator, trains on each
// round's global model, masks its update and sends it. The plaintext update exists
// only inside this process and is wiped after masking.
#pragma once

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fl/crypto.h"
#include "fl/fixed_point.h"
#include "fl/plan.h"
#include "fl/secagg/client.h"
#include "fl/secagg/identity.h"
#include "fl/transport.h"
#include "options.h"
#include "training/trainer.h"

namespace fl::worker {

// Result of the local work of one round.
struct LocalResult {
  EvalMetrics global_eval;   // test metrics of the global model received
  TrainStats train;
  std::vector<float> delta;  // local model - global model (plaintext: never leaves)
};

class WorkerClient {
 public:
  // `audit_plaintext_dir`: if not empty, the quantised plaintext update of every round
  // is written there (only when the operator asks for it on the command line).
  WorkerClient(WorkerOptions options, data::Split data, secagg::Identity identity, secagg::Roster roster,
               std::string audit_plaintext_dir);
  // Fault injection for tests: the process exits abruptly, as if killed, instead of
  // sending its `step` message ("advertise", "share", "masked_input", "signature",
  // "unmask") in the `round_index`-th round it takes part in (1-based).
  void CrashBefore(std::string step, int round_index);
  ~WorkerClient();
  int Run();

 private:
  using Clock = std::chrono::steady_clock;
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

  Status Connect();
  Status Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
              std::vector<zmq::message_t> payload = {});
  // Handles one message; returns a non-OK status to end the session.
  Status Handle(const Message& m);
  Status OnWelcome(const Message& m);
  Status OnInitRequest();
  Status OnRoundStart(const Message& m);
  Status OnSecAgg(const Message& m);
  // Passes a coordinator message to the protocol state machine and sends its answer.
  Status Step(const wire::SecAggServerMessage& m);
  Status OnFinish(const Message& m);
  // Sends the final report once the final model's evaluation is done.
  Status MaybeSendFinalReport(bool* finished);
  void AbandonRound(const std::string& reason);
  // Masks and sends the update once local training is done and the shares are in.
  Status MaybeSendMaskedInput();
  Status AuditPlaintext(const RingVector& plaintext, uint64_t weight);

  WorkerOptions options_;
  secagg::Identity identity_;
  secagg::Roster roster_;
  std::optional<data::Split> data_;  // moved into the trainer after WELCOME
  std::string audit_dir_;
  std::unique_ptr<DealerEndpoint> dealer_;
  std::string session_;
  uint32_t worker_id_ = 0;
  Plan plan_;
  std::unique_ptr<Trainer> trainer_;
  int64_t num_train_ = 0;
  std::optional<RoundState> round_;
  std::atomic<bool> cancel_{false};
  std::future<StatusOr<LocalResult>> abandoned_;
  std::future<StatusOr<EvalMetrics>> final_eval_;
  std::vector<float> final_model_;
  uint64_t final_version_ = 0;
  int rounds_joined_ = 0;
  std::string crash_step_;
  int crash_round_ = 0;
};

}  // namespace fl::worker
