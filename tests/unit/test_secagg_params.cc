// Tests for the choice and check of the SecAgg+ degree k and threshold t
// (fl/secagg/params.h).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fl/secagg/params.h"

using Catch::Matchers::Contains;
using fl::StatusCode;
using fl::secagg::BinomialTail;
using fl::secagg::CheckParameters;
using fl::secagg::ChooseParameters;
using fl::secagg::RoundParams;
using fl::secagg::SecurityParams;

namespace {

RoundParams MustChoose(uint32_t n, const SecurityParams& sp = SecurityParams{}) {
  auto p = ChooseParameters(n, sp);
  INFO("n=" << n << " " << p.status().ToString());
  REQUIRE(p.ok());
  REQUIRE(p->n == n);
  return *p;
}

// The two bounds of params.h for the default SecurityParams.
bool Secure(uint32_t n, uint32_t k, uint32_t t) { return n * BinomialTail(k, 0.1, t) <= std::ldexp(1.0, -40); }
bool Live(uint32_t n, uint32_t k, uint32_t t) { return n * BinomialTail(k, 0.2, k - t + 1) <= std::ldexp(1.0, -20); }

RoundParams Round(uint32_t n, uint32_t k, uint32_t t, bool complete) { return RoundParams{n, k, t, complete}; }

void ExpectDenied(const RoundParams& p, uint32_t min_cohort, const SecurityParams& own, const std::string& reason) {
  const fl::Status s = CheckParameters(p, min_cohort, own);
  INFO("n=" << p.n << " k=" << p.k << " t=" << p.t << " complete=" << p.complete << ": " << s.ToString());
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK_THAT(s.message(), Contains(reason));
}

}  // namespace

TEST_CASE("params: BinomialTail matches exact small cases", "[params]") {
  // P[Bin(k, 1/2) >= m] = sum_{i >= m} C(k, i) / 2^k.
  CHECK(BinomialTail(1, 0.5, 1) == Approx(0.5).epsilon(1e-12));
  CHECK(BinomialTail(2, 0.5, 1) == Approx(0.75).epsilon(1e-12));
  CHECK(BinomialTail(2, 0.5, 2) == Approx(0.25).epsilon(1e-12));
  CHECK(BinomialTail(3, 0.5, 1) == Approx(7.0 / 8).epsilon(1e-12));
  CHECK(BinomialTail(3, 0.5, 2) == Approx(4.0 / 8).epsilon(1e-12));
  CHECK(BinomialTail(3, 0.5, 3) == Approx(1.0 / 8).epsilon(1e-12));
  // Unequal p: P[Bin(3, 0.1) >= 2] = 3 * 0.01 * 0.9 + 0.001 = 0.028.
  CHECK(BinomialTail(3, 0.1, 2) == Approx(0.028).epsilon(1e-12));
  CHECK(BinomialTail(3, 0.1, 1) == Approx(1 - 0.729).epsilon(1e-12));
  // A tiny tail: P[Bin(10, 0.1) = 10] = 1e-10.
  CHECK(BinomialTail(10, 0.1, 10) == Approx(1e-10).epsilon(1e-9));
  // Monotone in m.
  for (uint32_t m = 1; m <= 84; ++m) CHECK(BinomialTail(84, 0.1, m) <= BinomialTail(84, 0.1, m - 1));
}

TEST_CASE("params: BinomialTail edge cases", "[params]") {
  CHECK(BinomialTail(0, 0.3, 0) == 1.0);
  CHECK(BinomialTail(10, 0.3, 0) == 1.0);
  CHECK(BinomialTail(10, 0.0, 0) == 1.0);
  CHECK(BinomialTail(0, 0.3, 1) == 0.0);
  CHECK(BinomialTail(3, 0.5, 4) == 0.0);
  CHECK(BinomialTail(3, 1.0, 4) == 0.0);
  CHECK(BinomialTail(10, 0.0, 1) == 0.0);
  CHECK(BinomialTail(10, 0.0, 10) == 0.0);
  CHECK(BinomialTail(10, 1.0, 1) == 1.0);
  CHECK(BinomialTail(10, 1.0, 10) == 1.0);
  const double all = BinomialTail(1000, 0.5, 1);
  CHECK(all <= 1.0);
  CHECK(all == Approx(1.0));
}

TEST_CASE("params: ChooseParameters gives the documented values", "[params]") {
  SECTION("small cohorts are complete") {
    const RoundParams p6 = MustChoose(6);
    CHECK(p6.complete);
    CHECK(p6.k == 5);
    CHECK(p6.t == 4);
    const RoundParams p20 = MustChoose(20);
    CHECK(p20.complete);
    CHECK(p20.k == 19);
    CHECK(p20.t == 11);
    const RoundParams p3 = MustChoose(3);
    CHECK(p3.complete);
    CHECK(p3.k == 2);
    CHECK(p3.t == 2);
  }
  SECTION("n = 100") {
    const RoundParams p = MustChoose(100);
    CHECK_FALSE(p.complete);
    CHECK(p.k == 74);
    CHECK(p.t == 38);
  }
  SECTION("n = 1000") {
    const RoundParams p = MustChoose(1000);
    CHECK_FALSE(p.complete);
    CHECK(p.k == 84);
    CHECK(p.t == 43);
  }
}

TEST_CASE("params: chosen Harary parameters satisfy the documented bounds, and k is minimal", "[params]") {
  for (uint32_t n : {100u, 200u, 1000u, 5000u}) {
    CAPTURE(n);
    const RoundParams p = MustChoose(n);
    REQUIRE_FALSE(p.complete);
    CHECK(p.k % 2 == 0);
    CHECK(p.k + 1 < n);
    CHECK(2 * p.t > p.k);  // t > k / 2
    CHECK(p.t <= p.k);
    CHECK(Secure(n, p.k, p.t));
    CHECK(Live(n, p.k, p.t));
    // t is the smallest secure majority for this k.
    if (p.t > p.k / 2 + 1) CHECK_FALSE(Secure(n, p.k, p.t - 1));
    // No smaller even degree (in particular k - 2) admits any valid threshold.
    for (uint32_t k = 2; k < p.k; k += 2) {
      for (uint32_t t = k / 2 + 1; t <= k; ++t) {
        if (Secure(n, k, t) && Live(n, k, t)) FAIL("k=" << k << " t=" << t << " also satisfies the bounds");
      }
    }
  }
}

TEST_CASE("params: k grows slowly with n", "[params]") {
  const RoundParams p100 = MustChoose(100);
  const RoundParams p5000 = MustChoose(5000);
  CHECK_FALSE(p5000.complete);
  CHECK(p5000.k >= p100.k);
  CHECK(p5000.k - p100.k < 30);
  uint32_t prev = 0;
  for (uint32_t n : {200u, 500u, 1000u, 2000u, 5000u, 20000u}) {
    const RoundParams p = MustChoose(n);
    CAPTURE(n, p.k);
    CHECK(p.k >= prev);
    CHECK(p.k < 120);
    prev = p.k;
  }
}

TEST_CASE("params: invalid SecurityParams and cohorts are rejected", "[params]") {
  auto expect_invalid = [](uint32_t n, const SecurityParams& sp) {
    auto p = ChooseParameters(n, sp);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == StatusCode::kInvalidArgument);
  };
  CHECK(SecurityParams{}.Validate().ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {-0.01, 0.5, 0.9, nan}) {
    CAPTURE(bad);
    SecurityParams sp;
    sp.max_dropout = bad;
    CHECK_FALSE(sp.Validate().ok());
    expect_invalid(100, sp);
    sp = SecurityParams{};
    sp.max_corrupt = bad;
    CHECK_FALSE(sp.Validate().ok());
    expect_invalid(100, sp);
  }
  for (int bad : {0, -1, 129}) {
    CAPTURE(bad);
    SecurityParams sp;
    sp.failure_log2 = bad;
    expect_invalid(100, sp);
    sp = SecurityParams{};
    sp.security_log2 = bad;
    expect_invalid(100, sp);
  }
  expect_invalid(0, SecurityParams{});
  expect_invalid(1, SecurityParams{});
}

TEST_CASE("params: CheckParameters accepts what ChooseParameters returns", "[params]") {
  for (uint32_t n : {6u, 20u, 100u, 1000u}) {
    CAPTURE(n);
    const RoundParams p = MustChoose(n);
    const fl::Status s = CheckParameters(p, n, SecurityParams{});
    INFO(s.ToString());
    CHECK(s.ok());
    CHECK(CheckParameters(p, 2, SecurityParams{}).ok());
  }
}

TEST_CASE("params: every cohort size from 3 up gets parameters the workers accept", "[params]") {
  for (uint32_t n = 3; n <= 400; ++n) {
    const RoundParams p = MustChoose(n);
    CAPTURE(n, p.k, p.t, p.complete);
    CHECK(p.t <= p.k);
    CHECK(2 * p.t > p.k);
    CHECK(p.complete == (p.k + 1 >= n));
    const fl::Status s = CheckParameters(p, n, SecurityParams{});
    INFO(s.ToString());
    CHECK(s.ok());
  }
}

TEST_CASE("params: a cohort of 2 gets usable parameters or is rejected", "[params]") {
  // ChooseParameters accepts n = 2 and returns the complete graph with k = 1 and
  // t = n / 2 + 1 = 2: a threshold above the number of share holders (each worker shares
  // among its k = 1 neighbours), which Split cannot satisfy and CheckParameters refuses.
  auto p = ChooseParameters(2, SecurityParams{});
  if (p.ok()) {
    CAPTURE(p->k, p->t);
    CHECK(p->t <= p->k);
    const fl::Status s = CheckParameters(*p, 2, SecurityParams{});
    INFO(s.ToString());
    CHECK(s.ok());
  } else {
    CHECK(p.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("params: CheckParameters refuses weakened rounds", "[params]") {
  const SecurityParams own;
  const RoundParams p1000 = Round(1000, 84, 43, false);
  REQUIRE(CheckParameters(p1000, 10, own).ok());

  SECTION("cohort below min_cohort") {
    ExpectDenied(Round(6, 5, 4, true), 10, own, "min_cohort");
    ExpectDenied(p1000, 1001, own, "min_cohort");
    ExpectDenied(Round(1, 0, 1, true), 0, own, "min_cohort");
  }
  SECTION("threshold below 2") {
    ExpectDenied(Round(3, 2, 1, true), 2, own, "threshold below 2");
    ExpectDenied(Round(1000, 2, 1, false), 2, own, "threshold below 2");
  }
  SECTION("threshold not a majority (Harary)") {
    ExpectDenied(Round(1000, 84, 42, false), 2, own, "majority");
    ExpectDenied(Round(1000, 84, 20, false), 2, own, "majority");
    ExpectDenied(Round(1000, 84, 86, false), 2, own, "majority");  // above the k + 1 holders
  }
  SECTION("threshold not a majority (complete)") {
    ExpectDenied(Round(20, 19, 10, true), 2, own, "majority");
    ExpectDenied(Round(6, 5, 3, true), 2, own, "majority");
    ExpectDenied(Round(6, 5, 7, true), 2, own, "majority");  // above the n holders
    CHECK(CheckParameters(Round(20, 19, 11, true), 2, own).ok());
  }
  SECTION("odd degree") {
    ExpectDenied(Round(1001, 83, 43, false), 2, own, "even");
    ExpectDenied(Round(1001, 85, 44, false), 2, own, "even");
  }
  SECTION("complete flag inconsistent with k") {
    ExpectDenied(Round(1000, 84, 43, true), 2, own, "inconsistent graph type");
    ExpectDenied(Round(20, 19, 11, false), 2, own, "inconsistent graph type");
    ExpectDenied(Round(20, 25, 11, false), 2, own, "inconsistent graph type");
    // k above n - 1 with the complete flag: the degree is wrong.
    ExpectDenied(Round(20, 25, 11, true), 2, own, "wrong degree");
  }
  SECTION("a majority threshold too low for a stricter worker") {
    SecurityParams strict;
    strict.max_corrupt = 0.45;
    ExpectDenied(p1000, 2, strict, "max_corrupt");
    SecurityParams paranoid;
    paranoid.security_log2 = 128;
    ExpectDenied(p1000, 2, paranoid, "max_corrupt");
    // The coordinator's own default bound is met with room: lowering t by one is not.
    ExpectDenied(Round(1000, 84, 42, false), 2, own, "majority");
  }
  SECTION("a majority that is too small a neighbourhood for the default bound") {
    // k = 40, t = 21: n * P[Bin(40, 0.1) >= 21] is about 2e-8, far above 2^-40.
    REQUIRE_FALSE(Secure(1000, 40, 21));
    ExpectDenied(Round(1000, 40, 21, false), 2, own, "max_corrupt");
  }
}
