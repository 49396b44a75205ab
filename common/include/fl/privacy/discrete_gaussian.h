// Exact samplers of the discrete Gaussian and discrete Laplace distributions on the
// integers (Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy",
// NeurIPS 2020, Algorithms 1-3): integer arithmetic on rationals only, no floating point,
// so the output distribution is exactly the stated one given uniform random bytes. A
// hospital adds such noise to its vote counts before they enter secure aggregation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fl/status.h"

namespace fl::privacy {

// Uniformly random bytes.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void Fill(uint8_t* out, size_t n) = 0;
};

// libsodium's randombytes_buf: the operating system's CSPRNG (crypto::Init() first), read
// 512 bytes at a time (a sample takes a few bytes); the unused bytes are wiped on
// destruction.
class SodiumRandom final : public RandomSource {
 public:
  SodiumRandom() = default;
  SodiumRandom(const SodiumRandom&) = delete;
  SodiumRandom& operator=(const SodiumRandom&) = delete;
  ~SodiumRandom() override;
  void Fill(uint8_t* out, size_t n) override;

 private:
  uint8_t buffer_[512] = {0};
  size_t used_ = sizeof(buffer_);
};

// Bernoulli(exp(-num/den)), exactly; num >= 0, den > 0, both below 2^100.
bool BernoulliExpNeg(RandomSource& rng, unsigned __int128 num, unsigned __int128 den);

// Discrete Laplace with scale t >= 1: P(x) proportional to exp(-|x| / t).
int64_t SampleDiscreteLaplace(RandomSource& rng, uint64_t t);

// The discrete Gaussian N_Z(0, sigma^2): P(x) proportional to exp(-x^2 / (2 sigma^2)) on the
// integers, for sigma^2 = variance_num / variance_den.
class DiscreteGaussian {
 public:
  // Bounds that keep every intermediate product inside 128 bits: variance_den <= 2^16 and
  // sigma^2 <= 2^32 (sigma <= 65536). InvalidArgument otherwise, or for sigma^2 = 0.
  static StatusOr<DiscreteGaussian> Create(uint64_t variance_num, uint64_t variance_den);
  // sigma^2 rounded up to a multiple of 2^-16 (never less noise than asked for).
  static StatusOr<DiscreteGaussian> FromVariance(double variance);

  int64_t Sample(RandomSource& rng) const;
  double variance_parameter() const { return static_cast<double>(num_) / static_cast<double>(den_); }

 private:
  DiscreteGaussian(uint64_t num, uint64_t den, uint64_t t) : num_(num), den_(den), t_(t) {}
  uint64_t num_, den_;  // sigma^2 = num_ / den_
  uint64_t t_;          // floor(sigma) + 1: the scale of the discrete Laplace proposal
};

}  // namespace fl::privacy
