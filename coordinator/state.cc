#include "state.h"

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fl/file_util.h"

namespace fl::coordinator {

std::string VersionFile(uint64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-v%06" PRIu64 ".safetensors", version);
  return buf;
}

StatusOr<SavedState> LoadSavedState(const std::string& state_dir, const Plan& plan, uint64_t max_parameters) {
  namespace fs = std::filesystem;
  const std::string latest_path = state_dir + "/latest.json";
  if (!fs::exists(latest_path)) return NotFound("no " + latest_path);
  SavedState s;
  {
    FL_ASSIGN_OR_RETURN(std::string text, ReadFile(latest_path, 1 << 16));
    const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
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
  FL_ASSIGN_OR_RETURN(s.model, ReadSafetensors(model_path));
  FL_RETURN_IF_ERROR(s.model.layout.Validate(max_parameters).WithContext(model_path));
  // The same model: a checkpoint of another architecture cannot continue this plan.
  const auto saved_plan = s.model.metadata.find("plan");
  if (saved_plan == s.model.metadata.end()) return InvalidArgument(model_path + ": no plan in its metadata");
  const nlohmann::json saved = nlohmann::json::parse(saved_plan->second, nullptr, false);
  const nlohmann::json wanted = PlanToJson(plan);
  if (!saved.is_object() || saved.value("model", nlohmann::json()) != wanted["model"]) {
    return FailedPrecondition(model_path + " holds a model of another plan (saved " +
                              (saved.is_object() ? saved.value("model", nlohmann::json()).dump() : "?") + ", configured " +
                              wanted["model"].dump() + "); point state_dir elsewhere to start afresh");
  }
  s.model.metadata.clear();

  const std::string metrics_path = state_dir + "/metrics.jsonl";
  if (fs::exists(metrics_path)) {
    FL_ASSIGN_OR_RETURN(std::string text, ReadFile(metrics_path));
    std::istringstream in(text);
    std::string line;
    for (size_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) return InvalidArgument(metrics_path + ":" + std::to_string(n) + ": not a JSON object");
      // Lines of rounds past the checkpoint cannot exist (a round's checkpoint is written
      // before its line), but a hand-edited file is checked all the same.
      if (j.contains("round") && j["round"].is_number_unsigned() && j["round"].get<uint64_t>() > s.model_version) {
        return InvalidArgument(metrics_path + ":" + std::to_string(n) + ": round " + j["round"].dump() +
                               " is newer than " + latest_path + " (version " + std::to_string(s.model_version) + ")");
      }
      if (j.contains("mean_train_loss") && j["mean_train_loss"].is_number()) {
        s.loss_history.push_back(j["mean_train_loss"].get<double>());
      }
      if (j.contains("protocol_round") && j["protocol_round"].is_number_unsigned()) {
        const uint64_t r = j["protocol_round"].get<uint64_t>();
        if (r > UINT32_MAX - 1) return InvalidArgument(metrics_path + ":" + std::to_string(n) + ": protocol_round out of range");
        s.last_protocol_round = std::max(s.last_protocol_round, static_cast<uint32_t>(r));
      }
      s.metrics_lines.push_back(line);
    }
  }
  for (const auto& entry : fs::directory_iterator(state_dir)) {
    uint64_t v = 0;
    const std::string name = entry.path().filename().string();
    if (std::sscanf(name.c_str(), "model-v%" SCNu64, &v) == 1 && name == VersionFile(v) && v <= s.model_version) {
      s.versions_on_disk.push_back(v);
    }
  }
  std::sort(s.versions_on_disk.begin(), s.versions_on_disk.end());
  return s;
}

}  // namespace fl::coordinator
