#include "fl/privacy/noisy_votes.h"

#include <cmath>
#include <string>

namespace fl::privacy {

Status CheckVoteHeadroom(uint64_t hospitals, uint64_t teachers_per_hospital, double total_variance) {
  if (!(total_variance >= 0) || !std::isfinite(total_variance)) return InvalidArgument("the noise variance must be >= 0");
  const double reach = static_cast<double>(hospitals) * static_cast<double>(teachers_per_hospital) +
                       40.0 * std::sqrt(total_variance);
  if (reach >= 2147483648.0) {
    return FailedPrecondition("a vote of " + std::to_string(hospitals) + " hospitals with " +
                              std::to_string(teachers_per_hospital) + " teachers each and noise variance " +
                              std::to_string(total_variance) + " could wrap around the 32-bit ring");
  }
  return Status::Ok();
}

StatusOr<RingVector> NoisyVoteInput(const std::vector<int64_t>& counts, const DiscreteGaussian& noise,
                                    RandomSource& rng) {
  RingVector out(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0 || counts[i] > kMaxVotesPerCount) {
      return OutOfRange("a vote count outside [0, " + std::to_string(kMaxVotesPerCount) + "]");
    }
    // Two's complement: the ring's sum of these words is the sum of the signed values
    // modulo 2^32, read back by DecodeVoteSum while it stays inside the signed range.
    out[i] = static_cast<uint32_t>(static_cast<uint64_t>(counts[i] + noise.Sample(rng)));
  }
  return out;
}

std::vector<int64_t> DecodeVoteSum(const RingVector& sum) {
  std::vector<int64_t> out(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) out[i] = static_cast<int32_t>(sum[i]);
  return out;
}

}  // namespace fl::privacy
