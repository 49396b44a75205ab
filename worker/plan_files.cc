#include "plan_files.h"

#include "fl/config_reader.h"

namespace fl::worker {

StatusOr<Plan> CheckpointPlan(const Checkpoint& c, const std::string& what) {
  const auto it = c.metadata.find("plan");
  if (it == c.metadata.end()) return InvalidArgument(what + " has no training plan in its metadata");
  StatusOr<nlohmann::json> plan_json = ParseJsonText(it->second, what + ": the plan in its metadata");
  if (!plan_json.ok()) return DataLoss(plan_json.status().message());
  return ParsePlan(*plan_json, what + " plan");
}

StatusOr<Plan> CoordinatorConfigPlan(const std::string& path, const std::string& what) {
  FL_ASSIGN_OR_RETURN(const nlohmann::json config, ParseJsonFile(path));
  const nlohmann::json plan_json = config.is_object() && config.contains("plan") ? config["plan"] : nlohmann::json::object();
  return ParsePlan(plan_json, what);
}

}  // namespace fl::worker
