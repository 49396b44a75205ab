// Projected gradient descent attacks (Madry et al., ICLR 2018) on a classifier, used for
// adversarial training and for robust accuracy (implemented in augment.cc, beside the
// other perturbations of input batches). Includes LibTorch: only the trainer, augment.cc
// and their tests include this header.
#pragma once

#include <torch/torch.h>

#include "fl/models/registry.h"

namespace fl::worker {

struct PgdOptions {
  double eps = 2.0 / 255;   // L-inf radius
  double alpha = 0.5 / 255; // step size
  int64_t steps = 7;        // K (1 without random start = FGSM)
  bool random_start = true;
  double lo = 0.0, hi = 1.0;  // valid intensity range
};

// Returns x' with |x' - x|_inf <= eps and lo <= x' <= hi that increases the
// cross-entropy loss of `net` on (x, y): K signed-gradient ascent steps of size alpha,
// each projected back onto the eps-ball and the valid range. The network's parameters
// get no gradient; its train/eval mode is left as it was.
torch::Tensor PgdAttack(models::Net& net, const torch::Tensor& x, const torch::Tensor& y, const PgdOptions& o);

}  // namespace fl::worker
