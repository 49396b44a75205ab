// How a teachers' hospital turns its vote counts into its input to a private vote
// (docs/privacy.md): the counts plus its own share of the noise, as ring words. The product
// adds exact discrete Gaussian noise from libsodium randomness; the seam lets a test build
// check the vote's arithmetic without noise (tests/tools), never the product.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/privacy/discrete_gaussian.h"
#include "fl/ring.h"
#include "fl/status.h"

namespace fl::worker {

class VoteNoiseSource {
 public:
  virtual ~VoteNoiseSource() = default;
  // counts[i] plus a fresh sample of noise of variance `variance` for every entry, as
  // two's-complement ring words.
  virtual StatusOr<RingVector> Noisy(const std::vector<int64_t>& counts, double variance) = 0;
};

// The discrete Gaussian N_Z(0, variance) (Canonne, Kamath, Steinke 2020) on libsodium's
// randomness.
class DiscreteGaussianVoteNoise final : public VoteNoiseSource {
 public:
  StatusOr<RingVector> Noisy(const std::vector<int64_t>& counts, double variance) override;

 private:
  privacy::SodiumRandom rng_;
};

}  // namespace fl::worker
