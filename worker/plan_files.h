// Training plans read from files: the plan a checkpoint carries in its metadata, and the
// "plan" of a coordinator config given to fl-worker local or finetune.
#pragma once

#include <string>

#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::worker {

// The plan in checkpoint `c`'s metadata (InvalidArgument without one, DataLoss for a
// damaged one); `what` names the file in errors.
StatusOr<Plan> CheckpointPlan(const Checkpoint& c, const std::string& what);

// The "plan" object of the coordinator config at `path` (the defaults without one); errors
// name the plan's fields under `what`.
StatusOr<Plan> CoordinatorConfigPlan(const std::string& path, const std::string& what);

}  // namespace fl::worker
