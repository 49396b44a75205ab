// Test-split metrics of a model, clean or under PGD (LibTorch; the trainer's evaluation).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "fl/models/registry.h"
#include "training/trainer.h"

namespace fl::worker {

// A test split on the training device: inputs, labels (int64 [N]) or masks (uint8), each
// sample's case (volume) id for per-case Dice, and the valid input range for PGD.
struct TestTensors {
  const torch::Tensor& x;
  const torch::Tensor& y;
  const std::vector<int32_t>& cases;
  int64_t num_classes;
  bool segmentation;
  double lo, hi;
};

// Metrics on clean samples (eps == 0: loss, accuracy, AUROC or Dice/IoU with their 95%
// intervals) or on PGD-`robust_steps` samples at radius eps (step 2.5 eps / K, random start
// seeded the same every time, so one model always scores the same).
EvalMetrics ScoreModel(models::Net& net, const TestTensors& test, double eps, int64_t robust_steps);

}  // namespace fl::worker
