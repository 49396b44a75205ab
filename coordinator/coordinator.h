// The coordinator service: runs a federation from admission to the final reports. It owns
// no socket and no file: it takes a Transport (fl/transport.h) and an Env (fl/env.h), and
// wires the parts that each do one job:
//   WorkerRegistry  admission, liveness, sending to a worker        worker_registry.h
//   EventLoop       transport events -> handlers                     event_loop.h
//   RoundRunner     one secure-aggregation round                     round_runner.h
//   RunStore        checkpoints, metrics.jsonl, resume               run_store.h
//   AuditLog        what was received, for audits                    audit_log.h
//   round metrics   a round's record and the convergence test        round_metrics.h
//   MergeFederation a merge federation's windows (docs/merging.md)   merge_federation.h
//   VoteFederation  a private vote's rounds (docs/privacy.md)        vote_federation.h
// The secure-aggregation protocol itself lives in secagg::SecAggServer (no I/O).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "fl/env.h"
#include "fl/safetensors.h"
#include "fl/server_optimizer.h"
#include "fl/secagg/identity.h"
#include "fl/transport.h"
#include "options.h"
#include "round_metrics.h"

namespace fl::coordinator {

class AuditLog;
class CoordinatorMetrics;
class EventLoop;
class FinalReports;
class InitialModelRequest;
class MergeFederation;
class RoundRunner;
class RunStore;
class VoteFederation;
class WorkerRegistry;
struct RoundResult;

class Coordinator {
 public:
  // `audit_dir`: if not empty, every secure-aggregation payload received is recorded there.
  // `metrics` (what /metrics shows) must outlive the coordinator.
  Coordinator(CoordinatorOptions options, Transport& transport, Env& env, std::string audit_dir,
              CoordinatorMetrics& metrics);
  ~Coordinator();
  // Runs the federation to the end; returns the process exit code (fl/exit_codes.h).
  int Run();
  // Asks Run() to stop soon: the round in progress is abandoned, the connected workers are
  // told, and Run() returns 0. Safe from a signal handler and from any thread.
  void RequestStop() { stop_ = true; }

 private:
  Status Start();
  Status LoadStartingModel();
  // Waits (admitting workers) until min_workers are connected; on timeout the connected
  // workers are told why and false is returned.
  bool AwaitWorkers();
  // One attempt at a round; true if it produced a new model version. A failure to record
  // the round is fatal (*fatal set): the state on disk stays that of the last commit.
  bool TrainOneRound(bool* fatal);
  Status CompleteRound(RoundResult round);
  void Finish();
  bool Converged() const;
  // Ends a run stopped by RequestStop: tells the workers, logs where it stopped.
  int Stopped();

  CoordinatorOptions options_;
  Transport& transport_;
  Env& env_;
  std::string audit_dir_;
  CoordinatorMetrics& metrics_;
  std::string session_;
  std::optional<secagg::Roster> roster_;
  std::unique_ptr<WorkerRegistry> registry_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<RunStore> store_;
  std::unique_ptr<RoundRunner> rounds_;
  std::unique_ptr<InitialModelRequest> initial_;
  std::unique_ptr<FinalReports> final_;
  std::unique_ptr<MergeFederation> merge_;  // a merge federation instead of training rounds
  std::unique_ptr<VoteFederation> vote_;    // a private vote instead of training rounds

  std::optional<Checkpoint> model_;   // the global model, version model_version_
  uint64_t model_version_ = 0;
  ServerOptimizer server_optimizer_;  // moves model_ by each round's aggregate
  ConvergenceTracker convergence_;
  uint32_t next_round_id_ = 1;
  bool resumed_ = false;           // continuing a run found in state_dir
  bool resumed_finished_ = false;  // ... whose final report is already written
  std::atomic<bool> stop_{false};
};

}  // namespace fl::coordinator
