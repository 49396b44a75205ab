// What a coordinator finds in its state_dir from an earlier run, so that a restarted
// coordinator (a rescheduled pod, a crash, more rounds asked for) continues from its newest
// checkpoint instead of overwriting the earlier run's checkpoints and metrics.
//
// A round is committed as one unit (run_store.h): its checkpoint, then metrics.jsonl with
// its line, then latest.json naming it. latest.json is the commit point: a metrics line of
// a round newer than latest.json belongs to a round that never committed and is dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::coordinator {

// state_dir/model-vNNNNNN.safetensors
std::string VersionFile(uint64_t version);
// state_dir/server-state-vNNNNNN.safetensors: the server optimizer's state after that round
std::string ServerStateFile(uint64_t version);

struct SavedState {
  Checkpoint model;                        // the newest checkpoint (latest.json), metadata cleared
  std::optional<Checkpoint> server_state;  // the server optimizer's state at that version, if kept
  uint64_t model_version = 0;
  std::vector<std::string> metrics_lines;  // metrics.jsonl's committed lines
  std::vector<double> loss_history;        // mean_train_loss of those rounds, in order
  std::vector<uint64_t> versions_on_disk;  // model versions whose files exist, ascending
  uint32_t last_protocol_round = 0;        // highest protocol_round in the metrics
  bool finished = false;         // the last metrics line is the final report of model_version
  bool metrics_behind = false;   // the newest round has no line (written by an older version)
  size_t uncommitted_lines = 0;  // lines of a round that never committed, dropped
};

// FailedPrecondition unless `c`'s metadata names a plan whose model section is `plan`'s.
Status CheckModelOfPlan(const Checkpoint& c, const Plan& plan, const std::string& path);

// True if state_dir holds any file of a run: latest.json, metrics.jsonl or a checkpoint.
StatusOr<bool> HoldsRun(Env& env, const std::string& state_dir);

// NotFound only when state_dir holds no run (a fresh start). Otherwise the saved state, or
// an error naming the file when it is missing, unreadable, inconsistent, or holds another
// model than `plan`'s (its whole model section must match).
StatusOr<SavedState> LoadSavedState(Env& env, const std::string& state_dir, const Plan& plan,
                                    uint64_t max_parameters);

}  // namespace fl::coordinator
