#include "state.h"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "fl/file_util.h"
#include "fl/log.h"
#include "server.h"

namespace fl::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxMetricsBytes = size_t{1} << 28;
// Protocol round ids are uint32 and never 0; a restart keeps well clear of the wrap.
constexpr uint64_t kMaxResumedProtocolRound = uint64_t{1} << 31;

// A problem with a state_dir that holds a run: never "not found", which would mean "start
// afresh" and overwrite the run.
Status Damaged(const Status& s) {
  return s.code() == StatusCode::kNotFound ? Status(StatusCode::kDataLoss, s.message()) : s;
}

bool IsVersionFile(const std::string& name, uint64_t* version) {
  return std::sscanf(name.c_str(), "model-v%" SCNu64, version) == 1 && name == VersionFile(*version);
}

}  // namespace

std::string VersionFile(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-v%06" PRIu64 ".safetensors", version);
  return buf;
}

StatusOr<bool> HoldsRun(const std::string& state_dir) {
  std::error_code ec;
  if (!fs::exists(state_dir, ec)) return false;
  fs::directory_iterator it(state_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    uint64_t v = 0;
    if (name == "latest.json" || name == "metrics.jsonl" || IsVersionFile(name, &v)) return true;
  }
  if (ec) return Status(StatusCode::kDataLoss, "cannot list " + state_dir + ": " + ec.message());
  return false;
}

uint32_t HighestAuditRound(const std::string& audit_dir) {
  uint32_t highest = 0;
  std::error_code ec;
  fs::directory_iterator it(audit_dir + "/coordinator", ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    unsigned long long r = 0;
    const std::string name = it->path().filename().string();
    if (std::sscanf(name.c_str(), "round-%llu", &r) == 1 && r < kMaxResumedProtocolRound) {
      highest = std::max(highest, static_cast<uint32_t>(r));
    }
  }
  return highest;
}

StatusOr<SavedState> LoadSavedState(const std::string& state_dir, const Plan& plan, uint64_t max_parameters) {
  FL_ASSIGN_OR_RETURN(const bool holds_run, HoldsRun(state_dir));
  if (!holds_run) return NotFound("no earlier run in " + state_dir);
  const std::string latest_path = state_dir + "/latest.json";
  std::error_code ec;
  if (!fs::exists(latest_path, ec)) {
    return Status(StatusCode::kDataLoss, state_dir + " holds checkpoints or metrics of an earlier run but no latest.json; "
                                         "restore it or point state_dir elsewhere");
  }
  SavedState s;
  {
    StatusOr<std::string> text = ReadFile(latest_path, 1 << 16);
    if (!text.ok()) return Damaged(text.status());
    const nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("model_version") || !j["model_version"].is_number_unsigned()) {
      return InvalidArgument(latest_path + ": expected {\"model_version\": N, \"file\": ...}");
    }
    s.model_version = j["model_version"].get<uint64_t>();
    // The file name is derived, not read, so a tampered latest.json cannot point elsewhere.
    if (!j.contains("file") || j["file"] != VersionFile(s.model_version)) {
      return InvalidArgument(latest_path + ": \"file\" must be " + VersionFile(s.model_version));
    }
  }
  const std::string model_path = state_dir + "/" + VersionFile(s.model_version);
  StatusOr<Checkpoint> model = ReadSafetensors(model_path);
  if (!model.ok()) return Damaged(model.status());
  s.model = std::move(model).value();
  FL_RETURN_IF_ERROR(s.model.layout.Validate(max_parameters).WithContext(model_path));
  // The same model section of the plan: a checkpoint of another model cannot continue.
  const auto saved_plan = s.model.metadata.find("plan");
  if (saved_plan == s.model.metadata.end()) return InvalidArgument(model_path + ": no plan in its metadata");
  const nlohmann::json saved = nlohmann::json::parse(saved_plan->second, nullptr, false);
  const nlohmann::json wanted = PlanToJson(plan)["model"];
  if (!saved.is_object() || !saved.contains("model") || saved["model"] != wanted) {
    const bool named = saved.is_object() && saved.contains("model") && saved["model"].is_object() &&
                       saved["model"].contains("name") && saved["model"]["name"].is_string();
    return FailedPrecondition(model_path + " holds a model of another plan (saved: " +
                              (named ? saved["model"]["name"].get<std::string>() : std::string("?")) +
                              "; plan.model must be the same as when the run began); point state_dir elsewhere "
                              "to start afresh");
  }
  s.model.metadata.clear();

  const std::string metrics_path = state_dir + "/metrics.jsonl";
  if (fs::exists(metrics_path, ec)) {
    StatusOr<std::string> text = ReadFile(metrics_path, kMaxMetricsBytes);
    if (!text.ok()) return Damaged(text.status());
    std::istringstream in(*text);
    std::string line;
    uint64_t last_round = 0;
    for (size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      const std::string where = metrics_path + ":" + std::to_string(n);
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
      if (j.contains("round") && j["round"].is_number_unsigned()) {
        // A round's checkpoint is written before its line, so no line can be newer.
        last_round = j["round"].get<uint64_t>();
        if (last_round > s.model_version) {
          return InvalidArgument(where + ": round " + std::to_string(last_round) + " is newer than " + latest_path +
                                 " (version " + std::to_string(s.model_version) + ")");
        }
      }
      if (j.contains("mean_train_loss") && j["mean_train_loss"].is_number()) {
        s.loss_history.push_back(j["mean_train_loss"].get<double>());
      }
      if (j.contains("protocol_round") && j["protocol_round"].is_number_unsigned()) {
        const uint64_t r = j["protocol_round"].get<uint64_t>();
        if (r >= kMaxResumedProtocolRound) return InvalidArgument(where + ": protocol_round out of range");
        s.last_protocol_round = std::max(s.last_protocol_round, static_cast<uint32_t>(r));
      }
      s.finished = j.contains("final") && j.contains("model_version") && j["model_version"] == s.model_version;
      s.metrics_lines.push_back(line);
    }
    s.metrics_behind = last_round < s.model_version;
  } else {
    s.metrics_behind = s.model_version > 0;
  }
  fs::directory_iterator it(state_dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    uint64_t v = 0;
    if (IsVersionFile(it->path().filename().string(), &v) && v <= s.model_version) s.versions_on_disk.push_back(v);
  }
  if (ec) return Status(StatusCode::kDataLoss, "cannot list " + state_dir + ": " + ec.message());
  std::sort(s.versions_on_disk.begin(), s.versions_on_disk.end());
  return s;
}

}  // namespace fl::coordinator

// The coordinator's side: a member of Coordinator, kept here with the state files.

namespace fl::coordinator {

StatusOr<bool> Coordinator::ResumeFromStateDir() {
  if (!options_.resume) {
    FL_ASSIGN_OR_RETURN(const bool holds, HoldsRun(options_.state_dir));
    if (holds) {
      return FailedPrecondition(options_.state_dir +
                                " holds an earlier run; set \"resume\": true to continue it, or choose another state_dir");
    }
    return false;
  }
  StatusOr<SavedState> saved = LoadSavedState(options_.state_dir, options_.plan, options_.max_model_parameters);
  if (saved.status().code() == StatusCode::kNotFound) return false;
  if (!saved.ok()) return saved.status();
  model_ = std::move(saved->model);
  model_version_ = saved->model_version;
  metrics_lines_ = std::move(saved->metrics_lines);
  loss_history_ = std::move(saved->loss_history);
  kept_versions_ = std::move(saved->versions_on_disk);
  next_round_id_ = std::max(saved->last_protocol_round, audit_dir_.empty() ? 0u : HighestAuditRound(audit_dir_)) + 1;
  resumed_ = true;
  resumed_finished_ = saved->finished;
  if (saved->metrics_behind) {
    FL_LOG(kWarning) << options_.state_dir << "/metrics.jsonl has no line for model version " << model_version_
                     << " (the coordinator stopped between writing the checkpoint and its metrics)";
  }
  FL_LOG(kInfo) << "resuming from " << options_.state_dir << " at model version " << model_version_ << " of "
                << options_.rounds << (options_.init_checkpoint.empty() ? "" : " (init_checkpoint not used)");
  return true;
}

}  // namespace fl::coordinator
