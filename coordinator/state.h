// What a coordinator finds in its state_dir from an earlier run, so that a restarted
// coordinator (a rescheduled pod, a crash, more rounds asked for) continues from its newest
// checkpoint instead of overwriting the earlier run's checkpoints and metrics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::coordinator {

// state_dir/model-vNNNNNN.safetensors
std::string VersionFile(uint64_t version);

struct SavedState {
  Checkpoint model;                        // the newest checkpoint (latest.json), metadata cleared
  uint64_t model_version = 0;
  std::vector<std::string> metrics_lines;  // metrics.jsonl as written, up to model_version
  std::vector<double> loss_history;        // mean_train_loss of those rounds, in order
  std::vector<uint64_t> versions_on_disk;  // model versions whose files exist, ascending
  uint32_t last_protocol_round = 0;        // highest protocol_round in the metrics
};

// NotFound when state_dir has no latest.json (nothing to resume). Otherwise the saved
// state, or an error naming the file when it is unreadable, inconsistent, or holds a
// different model (name or parameter layout) from `plan`'s.
StatusOr<SavedState> LoadSavedState(const std::string& state_dir, const Plan& plan, uint64_t max_parameters);

}  // namespace fl::coordinator
