// Training outside a federation (fl-worker local, finetune, teachers, student): `rounds`
// passes of the plan's epochs or steps, each logged as "<what> r/N: train loss L".
#pragma once

#include <cstdint>
#include <string>

#include "fl/status.h"
#include "training/trainer.h"

namespace fl::worker {

// Runs the passes (the learning-rate schedule counts them as rounds 0 .. rounds - 1) and
// returns the last pass's training loss.
StatusOr<double> TrainPasses(Trainer& t, int64_t rounds, const std::string& what);

}  // namespace fl::worker
