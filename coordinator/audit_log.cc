#include "audit_log.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace fl::coordinator {
namespace {
constexpr unsigned long long kMaxProtocolRound = 1ull << 31;
}  // namespace

Status AuditLog::Open() {
  if (!enabled()) return Status::Ok();
  return env_.MakeDirs(dir_ + "/coordinator");
}

std::string AuditLog::RoundDir(uint32_t protocol_round) const {
  char dir[64];
  std::snprintf(dir, sizeof dir, "/coordinator/round-%06u", protocol_round);
  return dir_ + dir;
}

uint32_t AuditLog::HighestRound() {
  if (!enabled()) return 0;
  StatusOr<std::vector<std::string>> names = env_.ListDir(dir_ + "/coordinator");
  if (!names.ok()) return 0;
  uint32_t highest = 0;
  for (const std::string& name : *names) {
    unsigned long long r = 0;
    if (std::sscanf(name.c_str(), "round-%llu", &r) == 1 && r < kMaxProtocolRound) {
      highest = std::max(highest, static_cast<uint32_t>(r));
    }
  }
  return highest;
}

void AuditLog::RecordMessage(uint32_t worker_id, const std::string& name, const Message& m, const std::string& step) {
  if (!enabled()) return;
  const std::string round_dir = RoundDir(m.round());
  if (!env_.MakeDirs(round_dir).ok()) return;
  const std::string stem = round_dir + "/" + step + "-w" + std::to_string(worker_id);
  nlohmann::json frames = nlohmann::json::array();
  (void)env_.WriteFile(stem + ".body", m.envelope.body());
  for (size_t i = 0; i < m.payload.size(); ++i) {
    const std::string file = stem + ".payload" + std::to_string(i) + ".bin";
    (void)env_.WriteFile(file, m.payload[i].view());
    frames.push_back({{"file", file.substr(dir_.size() + 1)}, {"bytes", m.payload[i].size()}});
  }
  const nlohmann::json line = {{"round", m.round()},         {"type", step},
                               {"worker_id", worker_id},      {"worker", name},
                               {"body_bytes", m.envelope.body().size()}, {"payload", frames}};
  (void)env_.AppendToFile(dir_ + "/coordinator/transcript.jsonl", line.dump() + "\n");
}

Status AuditLog::RecordSum(uint32_t protocol_round, const RingVector& sum) {
  if (!enabled()) return Status::Ok();
  const std::string round_dir = RoundDir(protocol_round);
  FL_RETURN_IF_ERROR(env_.MakeDirs(round_dir));
  return env_.WriteFile(round_dir + "/sum.u32",
                        std::string_view(reinterpret_cast<const char*>(sum.data()), sum.size() * sizeof(uint32_t)));
}

}  // namespace fl::coordinator
