#include "merge_ledger.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "fl/crypto.h"

namespace fl::coordinator {

namespace {
std::string SpentPath(const std::string& state_dir) { return state_dir + "/spent-vectors.txt"; }
}  // namespace

Status MergeLedger::Open(const SavedState& saved) {
  for (const std::string& text : saved.metrics_lines) {
    const nlohmann::json line = nlohmann::json::parse(text, nullptr, false);
    if (line.is_object() && line.value("kind", "") == "merge" && line.contains("model_version") &&
        line["model_version"].is_number_unsigned() && line.contains("lambda") && line["lambda"].is_number()) {
      const double lambda = line["lambda"].get<double>();
      if (!(lambda > 0)) return InvalidArgument(state_dir_ + "/metrics.jsonl: a merged version's lambda <= 0");
      lambdas_[line["model_version"].get<uint64_t>()] = lambda;
    }
  }
  for (uint64_t v : saved.versions_on_disk) {
    if (v > 0) FL_RETURN_IF_ERROR(HashVersionFile(v));
  }
  const std::string path = SpentPath(state_dir_);
  if (!env_.FileExists(path)) return Status::Ok();
  FL_ASSIGN_OR_RETURN(const std::string text, env_.ReadFile(path, size_t{1} << 26));
  std::stringstream lines(text);
  std::string id;
  while (std::getline(lines, id)) {
    if (!crypto::IsLowerHex(id, 32)) return InvalidArgument(path + ": not a list of 32-hex-digit vector ids");
    spent_.insert(id);
  }
  return Status::Ok();
}

Status MergeLedger::HashVersionFile(uint64_t version) {
  const std::string path = state_dir_ + "/" + VersionFile(version);
  FL_ASSIGN_OR_RETURN(const std::string bytes, env_.ReadFile(path, size_t{1} << 34));
  version_of_hash_[crypto::HashHex(bytes)] = version;
  return Status::Ok();
}

std::optional<uint64_t> MergeLedger::VersionOfModel(const std::string& blake2b) const {
  if (blake2b == base_hash_) return 0;
  auto it = version_of_hash_.find(blake2b);
  if (it == version_of_hash_.end()) return std::nullopt;
  return it->second;
}

std::optional<double> MergeLedger::LambdaOf(uint64_t version) const {
  if (version == 0) return 1.0;
  auto it = lambdas_.find(version);
  if (it == lambdas_.end()) return std::nullopt;
  return it->second;
}

Status MergeLedger::RecordVersion(uint64_t version, double lambda) {
  lambdas_[version] = lambda;
  return HashVersionFile(version);
}

Status MergeLedger::RecordSpent(const std::vector<std::string>& ids) {
  std::set<std::string> next = spent_;
  next.insert(ids.begin(), ids.end());
  std::string text;
  for (const std::string& id : next) text += id + "\n";
  FL_RETURN_IF_ERROR(env_.WriteFile(SpentPath(state_dir_), text));
  spent_ = std::move(next);
  return Status::Ok();
}

}  // namespace fl::coordinator
