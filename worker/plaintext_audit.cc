#include "plaintext_audit.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace fl::worker {

Status PlaintextAudit::Record(const PlaintextRecord& r, const RingVector& plaintext) {
  if (!enabled()) return Status::Ok();
  FL_RETURN_IF_ERROR(env_.MakeDirs(dir_));
  char stem[64];
  std::snprintf(stem, sizeof stem, "/round-%06u", r.round);
  FL_RETURN_IF_ERROR(env_.WriteFile(dir_ + stem + ".update.u32",
                                    std::string_view(reinterpret_cast<const char*>(plaintext.data()),
                                                     plaintext.size() * sizeof(uint32_t))));
  const nlohmann::json meta = {{"round", r.round},
                               {"worker_id", r.worker_id},
                               {"model_version", r.model_version},
                               {"weight", r.weight},
                               {"dimension", plaintext.size() - 1},
                               {"clip", r.params.clip},
                               {"max_total_weight", r.params.max_total_weight},
                               {"max_cohort", r.params.max_cohort},
                               {"scale", r.params.Scale()},
                               {"cohort", r.cohort}};
  return env_.WriteFile(dir_ + stem + ".json", meta.dump(2) + "\n");
}

}  // namespace fl::worker
