// fl-worker finetune: a hospital fine-tunes a common pretrained model on its own data,
// whenever it can and without a coordinator, and keeps its data vector
// tau = theta_finetuned - theta_base (task arithmetic) in its state_dir for a later merge
// (docs/merging.md). Nothing leaves the hospital.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "data_vector.h"
#include "fl/status.h"
#include "options.h"

namespace fl::worker {

struct FineTuneRequest {
  std::string base;          // the pretrained model (safetensors with its plan in the metadata)
  std::string plan_path;     // optional: a coordinator config whose "plan" trains instead (same model)
  int64_t rounds = 1;        // local passes of the plan's epochs or steps
  std::string output_model;  // optional: also the fine-tuned model itself
};

// Trains, writes the data vector (atomically) and returns a summary: the fine-tuned
// model's test metrics, the vector's path, its norm, the sample count and the base hash.
StatusOr<nlohmann::json> FineTune(const WorkerOptions& o, const FineTuneRequest& r);

}  // namespace fl::worker
