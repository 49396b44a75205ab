#include "run_store.h"

#include "fl/log.h"

namespace fl::coordinator {

StatusOr<std::optional<SavedState>> RunStore::Open() {
  FL_RETURN_IF_ERROR(env_.MakeDirs(options_.state_dir));
  if (!options_.resume) {
    FL_ASSIGN_OR_RETURN(const bool holds, HoldsRun(env_, options_.state_dir));
    if (holds) {
      return FailedPrecondition(options_.state_dir +
                                " holds an earlier run; set \"resume\": true to continue it, or choose another state_dir");
    }
    return std::optional<SavedState>();
  }
  StatusOr<SavedState> saved = LoadSavedState(env_, options_.state_dir, options_.plan, options_.max_model_parameters);
  if (saved.status().code() == StatusCode::kNotFound) return std::optional<SavedState>();
  if (!saved.ok()) return saved.status();
  lines_ = saved->metrics_lines;
  kept_versions_ = saved->versions_on_disk;
  if (saved->uncommitted_lines > 0) {
    FL_LOG(kWarning) << options_.state_dir << "/metrics.jsonl: dropped " << saved->uncommitted_lines
                     << " line(s) of a round after model version " << saved->model_version
                     << " that never committed; that round runs again";
  }
  if (saved->metrics_behind) {
    FL_LOG(kWarning) << options_.state_dir << "/metrics.jsonl has no line for model version " << saved->model_version;
  }
  return std::optional<SavedState>(std::move(saved).value());
}

Status RunStore::WriteModel(const Checkpoint& model, uint64_t version) {
  Checkpoint c = model;
  c.metadata = ModelMetadata(options_.plan);
  c.metadata["model_version"] = std::to_string(version);
  return WriteSafetensors(env_, options_.state_dir + "/" + VersionFile(version), c);
}

Status RunStore::WriteMetrics(const std::vector<std::string>& lines) {
  std::string all;
  for (const std::string& l : lines) all += l + "\n";
  return env_.WriteFile(options_.state_dir + "/metrics.jsonl", all);
}

Status RunStore::WriteLatest(uint64_t version) {
  const nlohmann::json latest = {{"model_version", version}, {"file", VersionFile(version)}};
  return env_.WriteFile(options_.state_dir + "/latest.json", latest.dump() + "\n");
}

void RunStore::PruneCheckpoints() {
  while (options_.keep_checkpoints > 0 && kept_versions_.size() > options_.keep_checkpoints) {
    const std::string old = options_.state_dir + "/" + VersionFile(kept_versions_.front());
    if (Status s = env_.RemoveFile(old); !s.ok()) FL_LOG(kWarning) << s.ToString();
    kept_versions_.erase(kept_versions_.begin());
  }
}

Status RunStore::SaveInitialModel(const Checkpoint& model) {
  FL_RETURN_IF_ERROR(WriteModel(model, 0));
  FL_RETURN_IF_ERROR(WriteLatest(0));
  kept_versions_.push_back(0);
  return Status::Ok();
}

Status RunStore::CommitRound(const Checkpoint& model, uint64_t version, const nlohmann::json& line,
                             const Checkpoint& server_state) {
  if (!server_state.values.empty()) {
    FL_RETURN_IF_ERROR(WriteSafetensors(env_, options_.state_dir + "/" + ServerStateFile(version), server_state));
  }
  FL_RETURN_IF_ERROR(WriteModel(model, version));
  std::vector<std::string> lines = lines_;
  lines.push_back(line.dump());
  FL_RETURN_IF_ERROR(WriteMetrics(lines));
  FL_RETURN_IF_ERROR(WriteLatest(version));  // the commit point
  const std::string previous = options_.state_dir + "/" + ServerStateFile(version - 1);
  if (version > 0 && env_.FileExists(previous)) {
    if (Status s = env_.RemoveFile(previous); !s.ok()) FL_LOG(kWarning) << s.ToString();
  }
  lines_ = std::move(lines);
  kept_versions_.push_back(version);
  PruneCheckpoints();
  return Status::Ok();
}

Status RunStore::AppendLine(const nlohmann::json& line) {
  std::vector<std::string> lines = lines_;
  lines.push_back(line.dump());
  FL_RETURN_IF_ERROR(WriteMetrics(lines));
  lines_ = std::move(lines);
  return Status::Ok();
}

}  // namespace fl::coordinator
