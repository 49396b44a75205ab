// The coordinator's state_dir: checkpoints, metrics.jsonl and latest.json, written through
// the Env. A round is committed as one unit: its checkpoint, then metrics.jsonl with its
// line, then latest.json naming it (the commit point; saved_state.h reads it back). A crash
// or a failed write at any step leaves either the whole round or none of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/env.h"
#include "fl/safetensors.h"
#include "options.h"
#include "saved_state.h"

namespace fl::coordinator {

class RunStore {
 public:
  RunStore(Env& env, const CoordinatorOptions& options) : env_(env), options_(options) {}

  // Opens state_dir: nullopt for a fresh start, or the earlier run to continue. With
  // resume off, a state_dir holding a run is an error (it is never overwritten).
  StatusOr<std::optional<SavedState>> Open();
  // The initial model, as version 0.
  Status SaveInitialModel(const Checkpoint& model);
  // Commits round `version`: the server optimizer's state (when it keeps any), its model
  // and its metrics line, as one unit; the previous round's optimizer state then goes.
  Status CommitRound(const Checkpoint& model, uint64_t version, const nlohmann::json& line,
                     const Checkpoint& server_state);
  // A line after the last round (the final reports).
  Status AppendLine(const nlohmann::json& line);

 private:
  Status WriteModel(const Checkpoint& model, uint64_t version);
  Status WriteMetrics(const std::vector<std::string>& lines);
  Status WriteLatest(uint64_t version);
  void PruneCheckpoints();

  Env& env_;
  const CoordinatorOptions& options_;
  std::vector<std::string> lines_;     // metrics.jsonl as committed
  std::vector<uint64_t> kept_versions_;
};

}  // namespace fl::coordinator
