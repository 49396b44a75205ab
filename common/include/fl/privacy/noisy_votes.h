// A hospital's input to a private vote (docs/privacy.md): its teachers' vote counts plus
// its own discrete Gaussian noise, as Z_2^32 words ready for masking (two's complement for
// the signed sum), and the decoding of the sum the coordinator unmasks. Nobody, the
// coordinator included, sees counts without the hospitals' noise.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/privacy/discrete_gaussian.h"
#include "fl/ring.h"
#include "fl/status.h"

namespace fl::privacy {

// The most teachers one hospital may have vote, so that counts fit the ring with room.
constexpr int64_t kMaxVotesPerCount = 1 << 20;

// Whether the sum of `hospitals` inputs of counts up to `teachers_per_hospital` each, with
// noise of total variance `total_variance`, stays inside the signed range of Z_2^32 with
// overwhelming probability: hospitals * teachers + 40 sigma < 2^31 (a discrete Gaussian
// beyond 40 sigma has probability below exp(-800)). FailedPrecondition otherwise.
Status CheckVoteHeadroom(uint64_t hospitals, uint64_t teachers_per_hospital, double total_variance);

// counts[i] + a fresh sample of `noise` for every entry, as ring words. Counts must be in
// [0, kMaxVotesPerCount].
StatusOr<RingVector> NoisyVoteInput(const std::vector<int64_t>& counts, const DiscreteGaussian& noise,
                                    RandomSource& rng);

// The signed integers the ring words of a summed vote stand for.
std::vector<int64_t> DecodeVoteSum(const RingVector& sum);

}  // namespace fl::privacy
