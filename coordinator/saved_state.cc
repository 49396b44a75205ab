#include "saved_state.h"

#include "fl/config_reader.h"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fl/log.h"

namespace fl::coordinator {
namespace {

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

std::string ServerStateFile(uint64_t version) {
  char name[48];
  std::snprintf(name, sizeof name, "server-state-v%06" PRIu64 ".safetensors", version);
  return name;
}

std::string VersionFile(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-v%06" PRIu64 ".safetensors", version);
  return buf;
}

Status CheckModelOfPlan(const Checkpoint& c, const Plan& plan, const std::string& path) {
  const auto saved_plan = c.metadata.find("plan");
  if (saved_plan == c.metadata.end()) return InvalidArgument(path + ": no plan in its metadata");
  const nlohmann::json saved = ParseJsonText(saved_plan->second, path + " plan").value_or(nlohmann::json());
  const nlohmann::json wanted = PlanToJson(plan)["model"];
  if (!saved.is_object() || !saved.contains("model") || saved["model"] != wanted) {
    const bool named = saved.is_object() && saved.contains("model") && saved["model"].is_object() &&
                       saved["model"].contains("name") && saved["model"]["name"].is_string();
    return FailedPrecondition(path + " holds a model of another plan (saved: " +
                              (named ? saved["model"]["name"].get<std::string>() : std::string("?")) +
                              "; plan.model must be the same)");
  }
  return Status::Ok();
}

StatusOr<bool> HoldsRun(Env& env, const std::string& state_dir) {
  if (!env.FileExists(state_dir)) return false;
  StatusOr<std::vector<std::string>> names = env.ListDir(state_dir);
  if (!names.ok()) return Status(StatusCode::kDataLoss, "cannot list " + state_dir + ": " + names.status().message());
  for (const std::string& name : *names) {
    uint64_t v = 0;
    if (name == "latest.json" || name == "metrics.jsonl" || IsVersionFile(name, &v)) return true;
  }
  return false;
}

StatusOr<SavedState> LoadSavedState(Env& env, const std::string& state_dir, const Plan& plan,
                                    uint64_t max_parameters) {
  FL_ASSIGN_OR_RETURN(const bool holds_run, HoldsRun(env, state_dir));
  if (!holds_run) return NotFound("no earlier run in " + state_dir);
  const std::string latest_path = state_dir + "/latest.json";
  if (!env.FileExists(latest_path)) {
    return Status(StatusCode::kDataLoss, state_dir + " holds checkpoints or metrics of an earlier run but no latest.json; "
                                         "restore it or point state_dir elsewhere");
  }
  SavedState s;
  {
    StatusOr<std::string> text = env.ReadFile(latest_path, 1 << 16);
    if (!text.ok()) return Damaged(text.status());
    const nlohmann::json j = ParseJsonText(*text, latest_path).value_or(nlohmann::json());
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
  StatusOr<Checkpoint> model = ReadSafetensors(env, model_path);
  if (!model.ok()) return Damaged(model.status());
  s.model = std::move(model).value();
  FL_RETURN_IF_ERROR(s.model.layout.Validate(max_parameters).WithContext(model_path));
  // The same model section of the plan: a checkpoint of another model cannot continue.
  FL_RETURN_IF_ERROR(CheckModelOfPlan(s.model, plan, model_path).WithContext("state_dir: point it elsewhere to start afresh"));
  FL_RETURN_IF_ERROR(CheckFinite(s.model, model_path));
  s.model.metadata.clear();
  // The server optimizer's state, written before latest.json with its round (if it keeps any).
  const std::string server_path = state_dir + "/" + ServerStateFile(s.model_version);
  if (env.FileExists(server_path)) {
    StatusOr<Checkpoint> server = ReadSafetensors(env, server_path);
    if (!server.ok()) return Damaged(server.status());
    s.server_state = std::move(server).value();
  }

  const std::string metrics_path = state_dir + "/metrics.jsonl";
  if (env.FileExists(metrics_path)) {
    StatusOr<std::string> text = env.ReadFile(metrics_path, kMaxMetricsBytes);
    if (!text.ok()) return Damaged(text.status());
    std::istringstream in(*text);
    std::string line;
    uint64_t last_round = 0;
    for (size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      const std::string where = metrics_path + ":" + std::to_string(n);
      const nlohmann::json j = ParseJsonText(line, where).value_or(nlohmann::json());
      if (!j.is_object()) return InvalidArgument(where + ": not a JSON object");
      if (j.contains("round") && j["round"].is_number_unsigned()) {
        // latest.json is written last: a newer round never committed, and neither did
        // anything after it.
        if (j["round"].get<uint64_t>() > s.model_version) {
          ++s.uncommitted_lines;
          continue;
        }
        last_round = j["round"].get<uint64_t>();
      }
      if (s.uncommitted_lines > 0) {
        ++s.uncommitted_lines;
        continue;
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
  StatusOr<std::vector<std::string>> names = env.ListDir(state_dir);
  if (!names.ok()) return Status(StatusCode::kDataLoss, "cannot list " + state_dir + ": " + names.status().message());
  for (const std::string& name : *names) {
    uint64_t v = 0;
    if (IsVersionFile(name, &v) && v <= s.model_version) s.versions_on_disk.push_back(v);
  }
  std::sort(s.versions_on_disk.begin(), s.versions_on_disk.end());
  return s;
}

}  // namespace fl::coordinator
