// Tests for the fixed-point codec between float updates and Z_2^32 (fl/fixed_point.h).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "fl/crypto.h"
#include "fl/fixed_point.h"
#include "fl/ring.h"

using Catch::Matchers::Contains;
using fl::DecodeWeightedSum;
using fl::EncodeStats;
using fl::EncodeWeighted;
using fl::FixedPointParams;
using fl::RingVector;
using fl::StatusCode;

namespace {

constexpr double kInt32Max = 2147483647.0;

// Small headroom configuration: quick to exercise at its limits.
FixedPointParams SmallParams() {
  FixedPointParams p;
  p.clip = 4.0;
  p.max_total_weight = 1000;
  p.max_cohort = 8;
  return p;
}

// Tolerance for "within DecodeErrorBound": the bound is strict in exact arithmetic;
// allow for double rounding only.
double Tol(const FixedPointParams& p, uint32_t cohort, uint64_t total) {
  return p.DecodeErrorBound(cohort, total) * (1 + 1e-6) + 1e-15;
}

std::vector<float> RandomVector(size_t d, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> x(d);
  for (auto& v : x) v = u(rng);
  return x;
}

std::vector<double> Decode(const RingVector& sum, const FixedPointParams& p, uint64_t expect_weight) {
  auto r = DecodeWeightedSum(sum, p);
  REQUIRE(r.ok());
  REQUIRE(r->total_weight == expect_weight);
  REQUIRE(r->average.size() == sum.size() - 1);
  return r->average;
}

}  // namespace

TEST_CASE("fixed_point: default parameters are valid and Scale follows the formula", "[fixed_point]") {
  FixedPointParams p;
  REQUIRE(p.Validate().ok());
  CHECK(p.Scale() == Approx((kInt32Max - 1000.0) / (1048576.0 * 4.0)).epsilon(1e-15));

  FixedPointParams s = SmallParams();
  REQUIRE(s.Validate().ok());
  CHECK(s.Scale() == Approx((kInt32Max - 8.0) / (1000.0 * 4.0)).epsilon(1e-15));
  CHECK(s.Scale() == Approx(536870.90975).epsilon(1e-12));
  // Error bound: `cohort` units of 1/(s N).
  CHECK(s.DecodeErrorBound(3, 60) == Approx(3.0 / (s.Scale() * 60.0)).epsilon(1e-15));
  CHECK(s.DecodeErrorBound(1, 1) == Approx(1.0 / s.Scale()).epsilon(1e-15));
}

TEST_CASE("fixed_point: Validate rejects bad parameters", "[fixed_point]") {
  auto expect_bad = [](const FixedPointParams& p, const char* needle) {
    fl::Status s = p.Validate();
    INFO("message: " << s.message());
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains(needle));
  };
  FixedPointParams p;
  SECTION("clip") {
    for (double c : {0.0, -1.0, -0.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
      p.clip = c;
      expect_bad(p, "clip");
    }
  }
  SECTION("ring_bits") {
    for (uint32_t b : {0u, 16u, 31u, 64u}) {
      p.ring_bits = b;
      expect_bad(p, "ring_bits");
    }
  }
  SECTION("max_total_weight") {
    p.max_total_weight = 0;
    expect_bad(p, "max_total_weight");
    p.max_total_weight = (1ull << 30) + 1;
    expect_bad(p, "max_total_weight");
    p.max_total_weight = 1ull << 40;
    expect_bad(p, "max_total_weight");
  }
  SECTION("max_cohort") {
    p.max_cohort = 0;
    expect_bad(p, "max_cohort");
    p.max_cohort = (1u << 20) + 1;
    expect_bad(p, "max_cohort");
  }
  SECTION("no precision left") {
    p.max_total_weight = 1ull << 30;
    p.clip = 4.0;  // s ~ 0.5 < 1
    expect_bad(p, "no precision left");
    p.clip = 1e6;
    p.max_total_weight = 1u << 20;
    expect_bad(p, "no precision left");
    // Just enough precision: s ~ 2.
    p.clip = 1.0;
    p.max_total_weight = 1ull << 30;
    CHECK(p.Validate().ok());
    CHECK(p.Scale() >= 1.0);
  }
}

TEST_CASE("fixed_point: EncodeWeighted writes d + 1 words with the weight last", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  const FixedPointParams p = SmallParams();
  const std::vector<float> x = {0.5f, -1.25f, 0.0f, 3.9f, -3.999f};
  RingVector out(100);  // resized by the encoder
  EncodeStats stats;
  stats.clipped = 77;
  REQUIRE(EncodeWeighted(x.data(), x.size(), 7, p, &out, &stats).ok());
  REQUIRE(out.size() == x.size() + 1);
  CHECK(out[x.size()] == 7u);
  CHECK(stats.clipped == 0);
  // Exact zero encodes to exactly 0 (no fractional part, no rounding up).
  CHECK(out[2] == 0u);
  // Sign is carried in two's complement.
  CHECK(static_cast<int32_t>(out[0]) > 0);
  CHECK(static_cast<int32_t>(out[1]) < 0);
  const auto avg = Decode(out, p, 7);
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("i = " << i);
    CHECK(std::abs(avg[i] - x[i]) < Tol(p, 1, 7));
  }

  // d = 0: only the weight.
  REQUIRE(EncodeWeighted(nullptr, 0, 5, p, &out).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0] == 5u);
}

TEST_CASE("fixed_point: EncodeWeighted rejects bad weights, non-finite input, bad params",
          "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  FixedPointParams p = SmallParams();
  std::vector<float> x(5000, 0.25f);
  RingVector out;
  fl::Status s = EncodeWeighted(x.data(), x.size(), 0, p, &out);
  CHECK(s.code() == StatusCode::kOutOfRange);
  s = EncodeWeighted(x.data(), x.size(), p.max_total_weight + 1, p, &out);
  CHECK(s.code() == StatusCode::kOutOfRange);
  CHECK_THAT(s.message(), Contains("1001"));
  CHECK(EncodeWeighted(x.data(), x.size(), p.max_total_weight, p, &out).ok());

  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> y = x;
    y[2] = bad;
    s = EncodeWeighted(y.data(), y.size(), 1, p, &out);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains("coordinate 2 "));
    y[2] = 0.f;
    y[4500] = bad;  // second 4096-word chunk
    s = EncodeWeighted(y.data(), y.size(), 1, p, &out);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains("coordinate 4500"));
  }

  p.clip = -1;
  CHECK(EncodeWeighted(x.data(), x.size(), 1, p, &out).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("fixed_point: clipping is counted and clipped values decode to +/-clip", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  const FixedPointParams p = SmallParams();
  const std::vector<float> x = {10.f, -10.f, 4.0f, -4.0f, 4.5f, 1e30f, -1e30f, 0.1f, -4.0001f};
  RingVector out;
  EncodeStats stats;
  REQUIRE(EncodeWeighted(x.data(), x.size(), 3, p, &out, &stats).ok());
  CHECK(stats.clipped == 6);  // |4.0| itself is not clipped
  const auto avg = Decode(out, p, 3);
  const std::vector<double> want = {4, -4, 4, -4, 4, 4, -4, static_cast<double>(0.1f), -4};
  for (size_t i = 0; i < x.size(); ++i) {
    INFO("i = " << i);
    CHECK(std::abs(avg[i] - want[i]) < Tol(p, 1, 3));
  }
}

TEST_CASE("fixed_point: stochastic rounding is unbiased and stays within one unit", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  // Coarse grid (s ~ 2) so that rounding is visible: x s = 0.6 rounds to 0 or 1.
  FixedPointParams p;
  p.clip = 1.0;
  p.max_total_weight = 1ull << 30;
  REQUIRE(p.Validate().ok());
  const double s = p.Scale();
  const size_t d = 200000;
  for (float value : {0.3f, -0.3f, 0.77f}) {
    INFO("value = " << value);
    const double xd = value;
    std::vector<float> x(d, value);
    RingVector out;
    REQUIRE(EncodeWeighted(x.data(), d, 1, p, &out).ok());
    const double lo = std::floor(xd * s);
    const auto avg = Decode(out, p, 1);
    double mean = 0;
    size_t ups = 0, bad = 0;
    for (size_t i = 0; i < d; ++i) {
      const double q = static_cast<int32_t>(out[i]);
      if (q == lo + 1) ++ups;
      else if (q != lo) ++bad;
      if (!(std::abs(avg[i] - xd) < 1.0 / s)) ++bad;
      mean += avg[i];
    }
    CHECK(bad == 0);
    mean /= d;
    const double frac = xd * s - lo;
    const double se = std::sqrt(frac * (1 - frac) / d) / s;
    CHECK(std::abs(mean - xd) < 5 * se);
    CHECK(std::abs(static_cast<double>(ups) / d - frac) < 5 * std::sqrt(frac * (1 - frac) / d));
  }
}

TEST_CASE("fixed_point: each call draws fresh rounding randomness", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  FixedPointParams p;
  p.clip = 1.0;
  p.max_total_weight = 1ull << 30;
  std::vector<float> x(1000, 0.3f);
  RingVector a, b;
  REQUIRE(EncodeWeighted(x.data(), x.size(), 1, p, &a).ok());
  REQUIRE(EncodeWeighted(x.data(), x.size(), 1, p, &b).ok());
  CHECK(a.words() != b.words());
}

TEST_CASE("fixed_point: single-worker decode reproduces x within DecodeErrorBound", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  const FixedPointParams p;  // defaults: clip 4, W 2^20
  const size_t d = 10000;    // crosses the 4096-word chunk boundary twice
  const auto x = RandomVector(d, -4.f, 4.f, 42);
  for (uint64_t w : {uint64_t{1}, uint64_t{123}, p.max_total_weight}) {
    RingVector out;
    REQUIRE(EncodeWeighted(x.data(), d, w, p, &out).ok());
    const auto avg = Decode(out, p, w);
    size_t bad = 0;
    for (size_t i = 0; i < d; ++i) bad += std::abs(avg[i] - x[i]) < Tol(p, 1, w) ? 0 : 1;
    INFO("weight " << w);
    CHECK(bad == 0);
  }
}

TEST_CASE("fixed_point: no wrap at the configured headroom", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  FixedPointParams p = SmallParams();
  std::vector<uint64_t> weights = {1, 2, 3, 4, 5, 6, 7, 972};  // max_cohort workers, sum = W
  uint64_t total = 0;
  for (auto w : weights) total += w;
  REQUIRE(weights.size() == p.max_cohort);
  REQUIRE(total == p.max_total_weight);

  // Worst case in exact terms: every worker rounds up.
  double worst = 0;
  for (auto w : weights) worst += std::ceil(p.clip * (static_cast<double>(w) * p.Scale()));
  CHECK(worst <= kInt32Max);

  const size_t d = 4100;
  for (float sign : {+1.f, -1.f}) {
    INFO("sign " << sign);
    RingVector sum(d + 1);
    for (auto w : weights) {
      std::vector<float> x(d, sign * static_cast<float>(p.clip));
      for (size_t i = 0; i < d; i += 3) x[i] = sign * 100.f;  // clipped to the bound too
      RingVector enc;
      EncodeStats st;
      REQUIRE(EncodeWeighted(x.data(), d, w, p, &enc, &st).ok());
      CHECK(st.clipped == (d + 2) / 3);
      REQUIRE(sum.Add(enc).ok());
    }
    const auto avg = Decode(sum, p, total);
    size_t bad = 0, wrong_sign = 0;
    for (size_t i = 0; i < d; ++i) {
      if (!(std::abs(avg[i] - sign * p.clip) < Tol(p, p.max_cohort, total))) ++bad;
      if ((static_cast<int32_t>(sum[i]) > 0) != (sign > 0)) ++wrong_sign;
    }
    CHECK(bad == 0);
    CHECK(wrong_sign == 0);
  }
}

TEST_CASE("fixed_point: no wrap with the largest weights (s ~ 2)", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  FixedPointParams p;
  p.clip = 1.0;
  p.max_total_weight = 1ull << 30;
  p.max_cohort = 2;
  REQUIRE(p.Validate().ok());
  const uint64_t w = 1ull << 29;  // two workers, weights sum to W
  const size_t d = 5000;
  for (float sign : {+1.f, -1.f}) {
    RingVector sum(d + 1);
    for (int k = 0; k < 2; ++k) {
      std::vector<float> x(d, sign);
      RingVector enc;
      REQUIRE(EncodeWeighted(x.data(), d, w, p, &enc).ok());
      REQUIRE(sum.Add(enc).ok());
    }
    const auto avg = Decode(sum, p, 2 * w);
    size_t bad = 0;
    for (size_t i = 0; i < d; ++i) bad += std::abs(avg[i] - sign) < Tol(p, 2, 2 * w) ? 0 : 1;
    INFO("sign " << sign);
    CHECK(bad == 0);
  }
}

TEST_CASE("fixed_point: DecodeWeightedSum rejects bad total weight", "[fixed_point]") {
  const FixedPointParams p = SmallParams();
  RingVector sum(4);
  auto r = DecodeWeightedSum(sum, p);
  CHECK(r.status().code() == StatusCode::kOutOfRange);
  sum[3] = static_cast<uint32_t>(p.max_total_weight + 1);
  r = DecodeWeightedSum(sum, p);
  CHECK(r.status().code() == StatusCode::kOutOfRange);
  sum[3] = 0xFFFFFFFFu;
  CHECK(!DecodeWeightedSum(sum, p).ok());
  sum[3] = static_cast<uint32_t>(p.max_total_weight);
  sum[0] = static_cast<uint32_t>(-1000);
  r = DecodeWeightedSum(sum, p);
  REQUIRE(r.ok());
  CHECK(r->total_weight == p.max_total_weight);
  CHECK(r->average[0] == Approx(-1000.0 / (p.Scale() * 1000.0)));
  CHECK(r->average[1] == 0.0);

  CHECK(DecodeWeightedSum(RingVector(), p).status().code() == StatusCode::kInvalidArgument);
  FixedPointParams bad = p;
  bad.ring_bits = 64;
  CHECK(!DecodeWeightedSum(sum, bad).ok());
}

TEST_CASE("fixed_point: weighted average of three workers", "[fixed_point]") {
  REQUIRE(fl::crypto::Init().ok());
  const FixedPointParams p = SmallParams();
  const size_t d = 3000;
  const std::vector<uint64_t> n = {10, 25, 65};
  std::vector<std::vector<float>> xs;
  RingVector sum(d + 1);
  for (size_t k = 0; k < n.size(); ++k) {
    xs.push_back(RandomVector(d, -2.f, 2.f, 100 + static_cast<uint32_t>(k)));
    RingVector enc;
    REQUIRE(EncodeWeighted(xs[k].data(), d, n[k], p, &enc).ok());
    REQUIRE(sum.Add(enc).ok());
  }
  const auto avg = Decode(sum, p, 100);
  const double tol = Tol(p, 3, 100);
  size_t bad = 0, far_from_plain_mean = 0;
  for (size_t i = 0; i < d; ++i) {
    double want = 0, plain = 0;
    for (size_t k = 0; k < n.size(); ++k) {
      want += static_cast<double>(n[k]) * xs[k][i];
      plain += xs[k][i];
    }
    want /= 100.0;
    plain /= 3.0;
    if (!(std::abs(avg[i] - want) < tol)) ++bad;
    if (std::abs(avg[i] - plain) > 100 * tol) ++far_from_plain_mean;
  }
  CHECK(bad == 0);
  CHECK(far_from_plain_mean > d / 2);  // the weights matter
}
