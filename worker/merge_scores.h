// A contributor's part in choosing lambda (docs/merging.md): the validation score of each
// candidate merged model base + lambda * direction, on the hospital's held-out validation
// split. Only these scores enter secure aggregation, weighted by the split's size, so the
// federation learns the pooled validation score of each lambda and nothing per hospital.
#pragma once

#include <atomic>
#include <vector>

#include "data/dataset.h"
#include "training/trainer.h"

namespace fl::worker {

// Accuracy of a classifier, or the mean over cases (volumes) of the foreground Dice of a
// segmentation model, each in [0, 1]. The trainer's parameters are left at the last
// candidate's. Aborted when `cancel` is set between candidates.
StatusOr<std::vector<float>> ScoreLambdas(Trainer& trainer, const data::Dataset& validation,
                                          const std::vector<float>& base, const std::vector<float>& direction,
                                          const std::vector<double>& lambdas, const std::atomic<bool>* cancel);

// The score of `predicted` class masks (N x mask pixels) against the dataset's masks: the
// mean over cases of the Dice of the foreground (every class but 0); a case with no
// foreground in either counts 1.
double MeanCaseDice(const data::Dataset& d, const std::vector<uint8_t>& predicted);

// Share of samples whose highest probability (rows of `probabilities`, N x K) is their label.
double Accuracy(const data::Dataset& d, const std::vector<float>& probabilities);

}  // namespace fl::worker
