// Exact discrete Gaussian / Laplace samplers and the Renyi-DP accountant: sampler
// statistics against the exact distributions (fixed-seed keystreams, tests only), and the
// accountant against closed-form values of the Gaussian mechanism.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "fl/crypto.h"
#include "fl/privacy/discrete_gaussian.h"
#include "fl/privacy/noisy_votes.h"
#include "fl/privacy/pate_accountant.h"
#include "fl/privacy/rdp_accountant.h"

namespace fl::privacy {
namespace {

// A reproducible byte stream for statistical tests: the ChaCha20 keystream of a key made
// from `seed`.
class SeededStream final : public RandomSource {
 public:
  explicit SeededStream(uint8_t seed) { key_.data()[0] = seed; }
  void Fill(uint8_t* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) {
      if (used_ == sizeof(block_)) {
        crypto::ChaCha20Words(key_, next_block_, block_, 16);
        ++next_block_;
        used_ = 0;
      }
      out[i] = reinterpret_cast<const uint8_t*>(block_)[used_++];
    }
  }

 private:
  crypto::SecretKey key_;
  uint32_t block_[16] = {0};
  size_t used_ = sizeof(block_);
  uint64_t next_block_ = 0;
};

struct Moments {
  double mean = 0, variance = 0;
};

template <typename Draw>
Moments Sample(int n, Draw draw) {
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = static_cast<double>(draw());
    sum += x;
    sum2 += x * x;
  }
  const double mean = sum / n;
  return {mean, sum2 / n - mean * mean};
}

// The exact variance of N_Z(0, s2): sum x^2 exp(-x^2 / (2 s2)) / sum exp(-x^2 / (2 s2)).
double ExactDiscreteGaussianVariance(double s2) {
  double z = 0, m2 = 0;
  const int64_t reach = static_cast<int64_t>(40 * std::sqrt(s2)) + 40;
  for (int64_t x = -reach; x <= reach; ++x) {
    const double w = std::exp(-static_cast<double>(x * x) / (2 * s2));
    z += w;
    m2 += static_cast<double>(x * x) * w;
  }
  return m2 / z;
}

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

TEST_CASE("Bernoulli(exp(-gamma)) has the exact success probability", "[privacy]") {
  SeededStream rng(1);
  for (const auto& [num, den] : std::vector<std::pair<int, int>>{{0, 1}, {1, 2}, {7, 3}, {3, 1}}) {
    const int n = 100000;
    int hits = 0;
    for (int i = 0; i < n; ++i) hits += BernoulliExpNeg(rng, num, den) ? 1 : 0;
    const double p = std::exp(-static_cast<double>(num) / den);
    const double se = std::sqrt(p * (1 - p) / n) + 1e-12;
    INFO("gamma " << num << "/" << den << ": " << hits << " of " << n << ", expected p " << p);
    CHECK(std::abs(hits / static_cast<double>(n) - p) <= 5 * se);
  }
}

TEST_CASE("the discrete Laplace sampler has the exact mean and variance", "[privacy]") {
  SeededStream rng(2);
  for (uint64_t t : {1, 3, 20}) {
    const int n = 100000;
    const Moments m = Sample(n, [&] { return SampleDiscreteLaplace(rng, t); });
    const double q = std::exp(-1.0 / static_cast<double>(t));
    const double variance = 2 * q / ((1 - q) * (1 - q));
    INFO("t " << t << ": mean " << m.mean << " variance " << m.variance << " expected " << variance);
    CHECK(std::abs(m.mean) <= 5 * std::sqrt(variance / n));
    CHECK(m.variance == Approx(variance).epsilon(0.04));
  }
}

TEST_CASE("the discrete Gaussian sampler matches the exact distribution", "[privacy]") {
  SeededStream rng(3);
  SECTION("probabilities of sigma^2 = 1, chi-square over -5..5") {
    auto g = DiscreteGaussian::Create(1, 1);
    REQUIRE(g.ok());
    const int n = 200000;
    std::map<int64_t, int> counts;
    for (int i = 0; i < n; ++i) ++counts[std::max<int64_t>(-6, std::min<int64_t>(6, g->Sample(rng)))];
    double z = 0;
    for (int64_t x = -60; x <= 60; ++x) z += std::exp(-static_cast<double>(x * x) / 2);
    double chi2 = 0;
    for (int64_t x = -6; x <= 6; ++x) {
      double p = 0;
      if (std::abs(x) < 6) {
        p = std::exp(-static_cast<double>(x * x) / 2) / z;
      } else {
        for (int64_t y = 6; y <= 60; ++y) p += std::exp(-static_cast<double>(y * y) / 2) / z;
      }
      const double expected = p * n;
      chi2 += (counts[x] - expected) * (counts[x] - expected) / expected;
    }
    INFO("chi-square " << chi2 << " on 12 degrees of freedom");
    CHECK(chi2 < 32.9);  // the 0.999 quantile of chi-square(12)
  }
  SECTION("mean and variance, small, fractional and large sigma^2") {
    for (double s2 : {0.3, 2.5, 7500.0}) {
      auto g = DiscreteGaussian::FromVariance(s2);
      REQUIRE(g.ok());
      const int n = 100000;
      const Moments m = Sample(n, [&] { return g->Sample(rng); });
      const double variance = ExactDiscreteGaussianVariance(g->variance_parameter());
      INFO("sigma^2 " << s2 << ": mean " << m.mean << " variance " << m.variance << " exact " << variance);
      CHECK(std::abs(m.mean) <= 5 * std::sqrt(variance / n));
      CHECK(std::abs(m.variance - variance) <= 5 * variance * std::sqrt(2.0 / n) + 0.01);
    }
  }
  SECTION("libsodium's generator gives the same law") {
    REQUIRE(crypto::Init().ok());
    SodiumRandom system;
    auto g = DiscreteGaussian::Create(100, 1);
    REQUIRE(g.ok());
    const Moments m = Sample(50000, [&] { return g->Sample(system); });
    CHECK(std::abs(m.mean) < 0.3);
    CHECK(m.variance == Approx(100).epsilon(0.05));
  }
}

TEST_CASE("the discrete Gaussian refuses parameters outside its exact range", "[privacy]") {
  CHECK_FALSE(DiscreteGaussian::Create(0, 1).ok());
  CHECK_FALSE(DiscreteGaussian::Create(1, 0).ok());
  CHECK_FALSE(DiscreteGaussian::Create(1, (1 << 16) + 1).ok());
  CHECK_FALSE(DiscreteGaussian::Create(uint64_t{1} << 32, 1).ok());
  CHECK(DiscreteGaussian::Create((uint64_t{1} << 32) - 1, 1).ok());
  CHECK_FALSE(DiscreteGaussian::FromVariance(0).ok());
  CHECK_FALSE(DiscreteGaussian::FromVariance(-1).ok());
  CHECK_FALSE(DiscreteGaussian::FromVariance(std::nan("")).ok());
  CHECK_FALSE(DiscreteGaussian::FromVariance(1e10).ok());
}

TEST_CASE("the accountant composes the Gaussian mechanism's closed-form RDP", "[privacy]") {
  RdpAccountant acc;
  REQUIRE(acc.AddGaussian(1.0, 4.0, 10).ok());
  for (size_t i = 0; i < acc.orders().size(); ++i) {
    CHECK(acc.rdp()[i] == Approx(10 * acc.orders()[i] / 32.0).epsilon(1e-12));
  }
  // rho-zCDP with rho = 10 / 32: the classic conversion optimised over all orders is
  // rho + 2 sqrt(rho log(1/delta)); the grid's minimum is at most 1% above it.
  const double rho = 10.0 / 32, delta = 1e-5;
  const double closed = rho + 2 * std::sqrt(rho * std::log(1 / delta));
  CHECK(acc.EpsilonClassic(delta) >= closed - 1e-9);
  CHECK(acc.EpsilonClassic(delta) <= closed * 1.01);
  CHECK(acc.Epsilon(delta) < acc.EpsilonClassic(delta));
  CHECK(acc.BestOrder(delta) > 1);
}

TEST_CASE("the accountant's epsilon is a valid, near-tight bound for one Gaussian release", "[privacy]") {
  // The exact privacy curve of the Gaussian mechanism (Balle and Wang 2018):
  // delta(eps) = Phi(D/(2s) - eps s/D) - e^eps Phi(-D/(2s) - eps s/D).
  for (double sigma : {0.8, 2.0, 10.0}) {
    RdpAccountant acc;
    REQUIRE(acc.AddGaussian(1.0, sigma).ok());
    const double delta = 1e-5;
    const double eps = acc.Epsilon(delta);
    auto exact_delta = [&](double e) {
      return NormalCdf(1 / (2 * sigma) - e * sigma) - std::exp(e) * NormalCdf(-1 / (2 * sigma) - e * sigma);
    };
    INFO("sigma " << sigma << ": accountant epsilon " << eps);
    CHECK(exact_delta(eps) <= delta);  // never promises more privacy than there is
    double lo = 0, hi = eps;           // the tight epsilon, by bisection
    for (int i = 0; i < 100; ++i) ((exact_delta((lo + hi) / 2) > delta) ? lo : hi) = (lo + hi) / 2;
    CHECK(eps <= 1.35 * hi);
  }
}

TEST_CASE("summed discrete Gaussian noise is accounted as the Gaussian of its total variance", "[privacy]") {
  const Sensitivity vote = VoteChange(2);
  // Large per-party variance: tau vanishes and the RDP is alpha * 2 / (2 V).
  const SummedDiscreteGaussian wide{7500.0, 3};
  for (double alpha : {2.0, 10.0, 100.0}) {
    CHECK(SummedDiscreteGaussianRdp(alpha, vote, wide) == Approx(alpha / 22500.0).epsilon(1e-12));
  }
  // Small per-party variance among many parties: the sum is not quite a discrete Gaussian.
  const SummedDiscreteGaussian narrow{0.3, 50};
  CHECK(SummedDiscreteGaussianRdp(10.0, vote, narrow) > 10.0 / narrow.total_variance());
  RdpAccountant discrete, continuous;
  REQUIRE(discrete.AddSummedDiscreteGaussian(vote, wide, 100).ok());
  REQUIRE(continuous.AddGaussian(std::sqrt(2.0), std::sqrt(22500.0), 100).ok());
  CHECK(discrete.Epsilon(1e-5) == Approx(continuous.Epsilon(1e-5)).epsilon(1e-9));
  // Invalid noise is refused, not accounted as free.
  CHECK_FALSE(discrete.AddSummedDiscreteGaussian(vote, {0.1, 3}).ok());
  CHECK_FALSE(discrete.AddSummedDiscreteGaussian(vote, {10, 0}).ok());
  CHECK_FALSE(discrete.AddGaussian(1, 0).ok());
}

TEST_CASE("a private vote's budget: Confident-GNMax releases, worst-case planning and the stop", "[privacy]") {
  const VoteNoise noise{150.0, 40.0, 2, 3};
  auto acc = PateAccountant::Create(noise, 8.0, 1e-5);
  REQUIRE(acc.ok());
  CHECK(acc->Spent() < 1e-3);  // nothing released: the conversion's floor at the largest order
  REQUIRE(acc->RecordSelection(400, 3).ok());
  REQUIRE(acc->RecordAnswers(250, 4).ok());  // a fourth hospital's noise is not credited
  // The same releases as Gaussian mechanisms of the guaranteed total noise: the extra
  // hospital's noise only adds privacy, and is left out of the account.
  RdpAccountant reference;
  REQUIRE(reference.AddGaussian(std::sqrt(2.0), 150.0, 400).ok());
  REQUIRE(reference.AddGaussian(std::sqrt(2.0), 40.0, 250).ok());
  CHECK(acc->Spent() == Approx(reference.Epsilon(1e-5)).epsilon(1e-9));
  CHECK(acc->Spent() < 8.0);
  // Fewer hospitals than the noise level assumes: the sum lacks noise, so it is refused.
  CHECK_FALSE(acc->RecordAnswers(1, 2).ok());
  // The budget stop: MaxQueries worst-case queries fit, one more does not.
  const int64_t left = acc->MaxQueries();
  INFO("queries left " << left << ", spent " << acc->Spent());
  CHECK(left > 0);
  CHECK(acc->CanPose(left));
  CHECK_FALSE(acc->CanPose(left + 1));
  REQUIRE(acc->RecordSelection(left, 3).ok());
  REQUIRE(acc->RecordAnswers(left, 3).ok());
  CHECK(acc->Spent() <= 8.0);
  CHECK(acc->MaxQueries() == 0);
  // More noise buys more queries.
  auto quieter = PateAccountant::Create({300.0, 80.0, 2, 3}, 8.0, 1e-5);
  REQUIRE(quieter.ok());
  CHECK(quieter->MaxQueries() > 3 * (400 + left) / 2);
}

TEST_CASE("a private vote refuses noise it cannot account for", "[privacy]") {
  CHECK_FALSE(PateAccountant::Create({0.0, 40.0, 2, 3}, 8, 1e-5).ok());
  CHECK_FALSE(PateAccountant::Create({150.0, 40.0, 1, 3}, 8, 1e-5).ok());
  CHECK_FALSE(PateAccountant::Create({150.0, 40.0, 2, 0}, 8, 1e-5).ok());
  CHECK_FALSE(PateAccountant::Create({1.0, 1.0, 2, 10}, 8, 1e-5).ok());  // a share of 1/10 < 1/4
  CHECK_FALSE(PateAccountant::Create({150.0, 40.0, 2, 3}, 0, 1e-5).ok());
  CHECK_FALSE(PateAccountant::Create({150.0, 40.0, 2, 3}, 8, 1).ok());
  CHECK(PateAccountant::Create({2.0, 2.0, 2, 10}, 8, 1e-5).ok());
}

TEST_CASE("noisy votes: the ring sum less the hospitals' own noise is exactly the summed counts", "[privacy][votes]") {
  // Three hospitals, 5 queries x 2 classes of 0..20 teacher votes each. Each hospital's
  // noise is re-drawn from a copy of its stream (zeros in place of counts), so that what
  // the sum must equal is known exactly, negative noise and wrap-around included.
  const std::vector<std::vector<int64_t>> counts = {
      {20, 0, 13, 7, 1, 19, 10, 10, 0, 20}, {3, 5, 8, 0, 6, 2, 4, 4, 7, 1}, {12, 12, 0, 24, 9, 15, 20, 4, 13, 11}};
  auto noise = DiscreteGaussian::FromVariance(40.0);
  REQUIRE(noise.ok());
  RingVector sum(10), noise_only(10);
  for (uint8_t h = 0; h < 3; ++h) {
    SeededStream rng(static_cast<uint8_t>(40 + h)), same(static_cast<uint8_t>(40 + h));
    auto input = NoisyVoteInput(counts[h], *noise, rng);
    auto zeros = NoisyVoteInput(std::vector<int64_t>(10, 0), *noise, same);
    REQUIRE(input.ok());
    REQUIRE(zeros.ok());
    REQUIRE(sum.Add(*input).ok());
    REQUIRE(noise_only.Add(*zeros).ok());
  }
  const std::vector<int64_t> total = DecodeVoteSum(sum), drawn = DecodeVoteSum(noise_only);
  bool some_negative = false;
  for (size_t i = 0; i < 10; ++i) {
    CHECK(total[i] - drawn[i] == counts[0][i] + counts[1][i] + counts[2][i]);
    some_negative = some_negative || drawn[i] < 0;
  }
  CHECK(some_negative);  // the signed decoding is exercised
}

TEST_CASE("noisy votes: the summed noise has mean 0 and the full variance", "[privacy][votes]") {
  // Each of h = 4 hospitals adds sigma^2 / 4: the sum of their noise has variance sigma^2.
  const double sigma2 = 100.0;
  auto share = DiscreteGaussian::FromVariance(sigma2 / 4);
  REQUIRE(share.ok());
  SeededStream rng(77);
  const int rounds = 20000;
  double mean = 0, m2 = 0;
  for (int r = 0; r < rounds; ++r) {
    RingVector sum(1);
    for (int h = 0; h < 4; ++h) {
      auto input = NoisyVoteInput({5}, *share, rng);
      REQUIRE(input.ok());
      REQUIRE(sum.Add(*input).ok());
    }
    const double noise = static_cast<double>(DecodeVoteSum(sum)[0] - 20);
    const double delta = noise - mean;
    mean += delta / (r + 1);
    m2 += delta * (noise - mean);
  }
  const double variance = m2 / (rounds - 1);
  // Standard errors: sigma / sqrt(n) = 0.07 for the mean; ~1% of sigma^2 for the variance.
  CHECK(std::abs(mean) < 0.3);
  CHECK(variance == Approx(sigma2).epsilon(0.05));
}

TEST_CASE("noisy votes: counts out of range and a ring without headroom are refused", "[privacy][votes]") {
  auto noise = DiscreteGaussian::FromVariance(1.0);
  REQUIRE(noise.ok());
  SeededStream rng(3);
  CHECK_FALSE(NoisyVoteInput({-1}, *noise, rng).ok());
  CHECK_FALSE(NoisyVoteInput({kMaxVotesPerCount + 1}, *noise, rng).ok());
  CHECK(CheckVoteHeadroom(100, 1000, 1e6).ok());
  CHECK_FALSE(CheckVoteHeadroom(3000, kMaxVotesPerCount, 1.0).ok());
  CHECK_FALSE(CheckVoteHeadroom(3, 10, 1e18).ok());
  CHECK_FALSE(CheckVoteHeadroom(3, 10, -1).ok());
}

}  // namespace fl::privacy
