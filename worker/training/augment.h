// Training-time augmentation of image batches (LibTorch). Random draws come from LibTorch's
// global generator, which the trainer seeds per epoch, so runs are reproducible.
#pragma once

#include <torch/torch.h>

#include "fl/plan.h"

namespace fl::worker {

// Augments a batch x [B, C, H, W] in place of the returned tensors: each sample is, with
// probability a.probability, flipped horizontally (half of the time, when a.flip), rotated
// by a uniform angle in [-rotation_deg, rotation_deg], elastically deformed (a Gaussian-
// smoothed random displacement field of about elastic_alpha pixels) and given Gaussian
// noise; samples not drawn are left exactly as they were. Geometric transforms resample the
// image bilinearly (border values outside) and `mask` ([B, H, W] class indices; may be
// undefined) with nearest neighbours (background outside), so image and mask stay aligned.
// Images are clamped to [lo, hi] after the noise.
// Volumes x [B, C, D, H, W] with masks [B, D, H, W] get one in-plane (H, W) transform per
// volume, the same for all its D slices; other ranks are returned unchanged.
struct Augmented {
  torch::Tensor x;
  torch::Tensor mask;
};
Augmented Augment(const AugmentationPlan& a, const torch::Tensor& x, const torch::Tensor& mask, double lo, double hi);

}  // namespace fl::worker
