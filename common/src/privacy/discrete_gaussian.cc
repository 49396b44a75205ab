#include "fl/privacy/discrete_gaussian.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <sodium.h>

namespace fl::privacy {
namespace {

using u128 = unsigned __int128;

int BitLength(u128 n) {
  int bits = 0;
  while (n != 0) {
    ++bits;
    n >>= 1;
  }
  return bits;
}

// Uniform on [0, n), n >= 1: draws of BitLength(n - 1) random bits until one is below n
// (each draw succeeds with probability above 1/2).
u128 UniformBelow(RandomSource& rng, u128 n) {
  if (n <= 1) return 0;
  const int bits = BitLength(n - 1);
  const u128 mask = bits >= 128 ? ~u128{0} : ((u128{1} << bits) - 1);
  const size_t bytes = static_cast<size_t>((bits + 7) / 8);
  for (;;) {
    uint8_t buf[16] = {0};
    rng.Fill(buf, bytes);
    u128 v = 0;
    for (size_t i = 0; i < bytes; ++i) v |= static_cast<u128>(buf[i]) << (8 * i);
    v &= mask;
    if (v < n) return v;
  }
}

bool Bernoulli(RandomSource& rng, u128 num, u128 den) { return UniformBelow(rng, den) < num; }

}  // namespace

SodiumRandom::~SodiumRandom() { sodium_memzero(buffer_, sizeof(buffer_)); }

void SodiumRandom::Fill(uint8_t* out, size_t n) {
  if (n >= sizeof(buffer_)) {
    randombytes_buf(out, n);
    return;
  }
  if (n > sizeof(buffer_) - used_) {
    randombytes_buf(buffer_, sizeof(buffer_));
    used_ = 0;
  }
  std::memcpy(out, buffer_ + used_, n);
  sodium_memzero(buffer_ + used_, n);  // each byte is handed out once
  used_ += n;
}

bool BernoulliExpNeg(RandomSource& rng, u128 num, u128 den) {
  if (num <= den) {
    // gamma = num/den in [0, 1]: the first k with A_k = 0, A_k ~ Bernoulli(gamma / k), is
    // odd with probability exp(-gamma). den * k stays far below 2^128: P(k > 64) < 1/64!.
    u128 k = 1;
    while (k < 64 && Bernoulli(rng, num, den * k)) ++k;
    return (k % 2) == 1;
  }
  // gamma > 1: exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma - floor(gamma))).
  for (u128 i = num / den; i > 0; --i) {
    if (!BernoulliExpNeg(rng, 1, 1)) return false;
  }
  return BernoulliExpNeg(rng, num % den, den);
}

int64_t SampleDiscreteLaplace(RandomSource& rng, uint64_t t) {
  for (;;) {
    const uint64_t u = static_cast<uint64_t>(UniformBelow(rng, t));
    if (!BernoulliExpNeg(rng, u, t)) continue;
    uint64_t v = 0;
    while (BernoulliExpNeg(rng, 1, 1) && v < (uint64_t{1} << 40) / t) ++v;  // geometric; capped far out in the tail
    const uint64_t x = u + t * v;
    const bool negative = Bernoulli(rng, 1, 2);
    if (negative && x == 0) continue;
    return negative ? -static_cast<int64_t>(x) : static_cast<int64_t>(x);
  }
}

StatusOr<DiscreteGaussian> DiscreteGaussian::Create(uint64_t variance_num, uint64_t variance_den) {
  if (variance_num == 0 || variance_den == 0) return InvalidArgument("the discrete Gaussian needs sigma^2 > 0");
  if (variance_den > (uint64_t{1} << 16)) return InvalidArgument("sigma^2's denominator must be at most 2^16");
  if (variance_num / variance_den >= (uint64_t{1} << 32)) return InvalidArgument("sigma^2 must be below 2^32");
  // t = floor(sigma) + 1, with floor(sigma) the largest s where s^2 * den <= num.
  uint64_t s = static_cast<uint64_t>(std::sqrt(static_cast<double>(variance_num) / static_cast<double>(variance_den)));
  while (static_cast<u128>(s) * s * variance_den > variance_num) --s;
  while (static_cast<u128>(s + 1) * (s + 1) * variance_den <= variance_num) ++s;
  return DiscreteGaussian(variance_num, variance_den, s + 1);
}

StatusOr<DiscreteGaussian> DiscreteGaussian::FromVariance(double variance) {
  constexpr double kDen = 65536.0;
  if (!(variance > 0) || !(variance < 4294967296.0)) {
    return InvalidArgument("the discrete Gaussian's variance must be in (0, 2^32)");
  }
  const double num = std::max(1.0, std::ceil(variance * kDen));  // never less noise than asked for
  return Create(static_cast<uint64_t>(num), static_cast<uint64_t>(kDen));
}

int64_t DiscreteGaussian::Sample(RandomSource& rng) const {
  // Rejection from the discrete Laplace of scale t: accept y with probability
  // exp(-(|y| - sigma^2/t)^2 / (2 sigma^2)) = exp(-(|y| t den - num)^2 / (2 num den t^2)).
  const u128 den = u128{2} * num_ * den_ * t_ * t_;  // < 2^(1 + 48 + 16 + 34)
  for (;;) {
    const int64_t y = SampleDiscreteLaplace(rng, t_);
    const uint64_t a = static_cast<uint64_t>(y < 0 ? -y : y);
    // |y| above 2^62 / (t den) only occurs with probability below exp(-2^14) and would be
    // accepted with probability below exp(-2^27): treated as a rejection.
    if (a > (uint64_t{1} << 62) / (t_ * den_)) continue;
    const u128 scaled = static_cast<u128>(a) * t_ * den_;
    const u128 diff = scaled > num_ ? scaled - num_ : num_ - scaled;
    if (BernoulliExpNeg(rng, diff * diff, den)) return y;
  }
}

}  // namespace fl::privacy
