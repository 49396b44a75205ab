// The coordinator service: owns the ROUTER socket, admits workers, runs rounds, writes
// checkpoints and metrics. The secure-aggregation protocol of a round lives in
// secagg::SecAggServer (no I/O); this layer only moves its messages.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/safetensors.h"
#include "fl/transport.h"
#include "fl/secagg/identity.h"
#include "fl/secagg/server.h"
#include "options.h"

namespace fl::coordinator {

using Clock = std::chrono::steady_clock;

struct WorkerRecord {
  uint32_t id = 0;
  std::string peer;   // ZeroMQ routing id
  std::string name;
  Clock::time_point last_seen;
  bool alive = true;
};

class Coordinator {
 public:
  // `audit_dir`: if not empty, every payload received is recorded there.
  Coordinator(CoordinatorOptions options, std::string audit_dir);
  // Runs the federation to the end. Returns the process exit code.
  int Run();

 private:
  enum class WaitResult { kReady, kTimeout };

  Status Start();
  // Loads an earlier run from state_dir (coordinator/state.cc); false if there is none.
  StatusOr<bool> ResumeFromStateDir();
  // Waits (admitting workers) until min_workers are connected; false, logged, on timeout.
  bool AwaitWorkers();
  // Processes messages until `ready()` holds or the deadline passes.
  WaitResult PumpUntil(const std::function<bool()>& ready, Clock::time_point deadline);
  void Dispatch(Incoming in);
  void HandleHello(const std::string& peer, const Message& m);
  void HandleInitModel(WorkerRecord& w, const Message& m);
  void HandleSecAggMessage(WorkerRecord& w, const Message& m);
  void SendSecAgg(const std::vector<secagg::Outgoing>& out);
  void AbandonRound(const std::string& reason);
  void CheckLiveness();
  void DropWorker(WorkerRecord& w, const std::string& reason, bool tell_worker);
  void Send(const WorkerRecord& w, Message m);
  std::vector<WorkerRecord*> AliveWorkers();
  WorkerRecord* FindByPeer(const std::string& peer);

  Status ObtainInitialModel();
  // Runs one attempt; true if a new model version was produced.
  bool RunRound();
  Status CompleteRound(RingVector sum, double seconds);
  void FinishTraining();
  Status WriteCheckpoint();
  Status AppendMetrics(const nlohmann::json& line);
  // Records the body and payload frames of a message in the audit directory; `step`
  // names the protocol step (the file stem).
  void AuditPayload(const WorkerRecord& w, const Message& m, const std::string& step);
  bool Converged();

  CoordinatorOptions options_;
  std::string audit_dir_;
  std::unique_ptr<RouterEndpoint> router_;
  std::string session_;
  std::map<uint32_t, WorkerRecord> workers_;
  uint32_t next_worker_id_ = 1;
  uint32_t next_round_id_ = 1;

  std::optional<Checkpoint> model_;  // the global model, version = model_version_
  ServerOptimizer server_optimizer_;  // moves model_ by each round's aggregate
  uint64_t model_version_ = 0;
  bool resumed_ = false;           // continuing a run found in state_dir
  bool resumed_finished_ = false;  // ... whose final report is already written
  std::optional<uint32_t> init_worker_;  // worker asked for the initial model

  std::optional<secagg::Roster> roster_;
  std::unique_ptr<secagg::SecAggServer> round_;
  uint32_t round_id_ = 0;
  std::vector<uint32_t> cohort_;
  std::map<uint32_t, nlohmann::json> round_metrics_;
  std::map<uint32_t, nlohmann::json> final_reports_;
  bool finishing_ = false;

  std::vector<std::string> metrics_lines_;
  std::vector<double> loss_history_;
  std::vector<uint64_t> kept_versions_;
};

}  // namespace fl::coordinator
