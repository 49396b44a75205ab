// Classification metrics computed on the CPU from predicted probabilities (no LibTorch).
#pragma once

#include <cstdint>
#include <vector>

namespace fl::worker {

// Area under the ROC curve for scores of the positive class (ties count one half).
// Returns NaN when only one class is present.
double BinaryAuroc(const std::vector<float>& scores, const std::vector<int64_t>& positive);

// Macro-averaged one-vs-rest AUROC over classes present in `labels`; for two classes
// this is the binary AUROC of class 1. `probs` is row-major N x num_classes.
double MacroAuroc(const std::vector<float>& probs, const std::vector<int64_t>& labels, int64_t num_classes);

}  // namespace fl::worker
