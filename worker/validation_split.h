// The validation split a hospital holds out of its training data for merging
// (docs/merging.md): fl-worker finetune never trains on it, and fl-worker contribute scores
// candidate merged models on it. Deterministic, so both commands hold out the same samples.
#pragma once

#include "data/dataset.h"

namespace fl::worker {

// Moves a `fraction` of `train` (whole cases when it has case ids: the slices of one
// volume stay together) into the returned dataset, drawn with a fixed seed; `train` keeps
// the rest. fraction 0 returns an empty dataset. InvalidArgument when fraction is outside
// [0, 0.5] or when either part would be empty.
StatusOr<data::Dataset> HoldOutValidation(data::Dataset* train, double fraction);

}  // namespace fl::worker
