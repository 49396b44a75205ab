// Fixed-point codec between float updates and Z_2^32.
//
// A worker with n_k samples encodes q_i = SR(n_k * clip(x_i, C) * s) for each
// coordinate (SR = unbiased stochastic rounding) and appends n_k as the last element.
// The sum over a cohort then holds sum_k n_k x_k and N = sum_k n_k, so the weighted
// average is sum / (s N). The scale s leaves headroom so that the signed sum cannot
// wrap: for at most `max_cohort` workers whose weights add up to at most
// `max_total_weight` = W,  sum_k |q_ik| <= W C s + max_cohort <= 2^31 - 1.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/ring.h"
#include "fl/status.h"

namespace fl {

struct FixedPointParams {
  double clip = 4.0;                 // per-coordinate clip bound C of an update (> 0)
  uint64_t max_total_weight = 1u << 20;  // W: bound on the cohort's summed sample count
  uint32_t max_cohort = 1000;        // bound on the number of summed vectors
  uint32_t ring_bits = kRingBits;    // only 32 is supported

  Status Validate() const;
  // s = (2^31 - 1 - max_cohort) / (W C).
  double Scale() const;
  // Worst-case absolute error of one decoded average coordinate for a cohort of
  // `cohort` workers with total weight `total_weight` (rounding only, no clipping).
  double DecodeErrorBound(uint32_t cohort, uint64_t total_weight) const;
};

struct EncodeStats {
  size_t clipped = 0;  // coordinates whose magnitude exceeded the clip bound
};

// Encodes `x` (d floats) with weight `weight` into `out` (resized to d + 1). Stochastic
// rounding draws from a fresh ChaCha20 keystream. Fails on non-finite values or a weight
// of 0 or above max_total_weight.
Status EncodeWeighted(const float* x, size_t d, uint64_t weight, const FixedPointParams& p,
                      RingVector* out, EncodeStats* stats = nullptr);

struct DecodedAverage {
  uint64_t total_weight = 0;   // N
  std::vector<double> average; // sum_k n_k x_k / N, d entries
};

// Decodes the cohort sum (d + 1 words) into the weighted average.
StatusOr<DecodedAverage> DecodeWeightedSum(const RingVector& sum, const FixedPointParams& p);

}  // namespace fl
