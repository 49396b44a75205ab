#include "vote_noise.h"

#include "fl/privacy/noisy_votes.h"

namespace fl::worker {

StatusOr<RingVector> DiscreteGaussianVoteNoise::Noisy(const std::vector<int64_t>& counts, double variance) {
  FL_ASSIGN_OR_RETURN(const privacy::DiscreteGaussian noise, privacy::DiscreteGaussian::FromVariance(variance));
  return privacy::NoisyVoteInput(counts, noise, rng_);
}

}  // namespace fl::worker
