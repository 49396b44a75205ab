// The soft Dice loss that every segmentation loss of this product adds to its
// cross-entropy, so that small structures do not drown in background.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace fl::models {

// 1 - (2 |P n T| + 1) / (|P| + |T| + 1) per foreground class (classes 1..K-1), pooled over the
// batch and every spatial axis, averaged over the classes. probs [B, K, *spatial] (each
// pixel's class probabilities), y int64 labels [B, *spatial].
inline torch::Tensor SoftDiceLoss(const torch::Tensor& probs, const torch::Tensor& y, int64_t classes) {
  const torch::Tensor p = probs.slice(1, 1);
  // One-hot [B, *spatial, K] -> [B, K, *spatial]; sums run over the batch and every spatial axis.
  std::vector<int64_t> order = {0, y.dim()}, reduce = {0};
  for (int64_t a = 1; a < y.dim(); ++a) {
    order.push_back(a);
    reduce.push_back(a + 1);
  }
  const torch::Tensor t = torch::one_hot(y, classes).permute(order).slice(1, 1).to(p.scalar_type());
  const torch::Tensor inter = (p * t).sum(reduce);
  const torch::Tensor denom = p.sum(reduce) + t.sum(reduce);
  return (1 - (2 * inter + 1) / (denom + 1)).mean();
}

}  // namespace fl::models
