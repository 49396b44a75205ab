// 95% intervals of the reported test metrics (training/intervals.h); the expected values
// were computed independently from the textbook formulas (Wilson; DeLong's O(mn) form).
#include <catch2/catch.hpp>

#include <cmath>

#include "training/intervals.h"
#include "training/metrics.h"

using namespace fl::worker;

TEST_CASE("intervals: Wilson's interval of an accuracy") {
  Interval a = WilsonInterval(15, 16);  // 0.9375 on 16 patients
  CHECK(a.low == Approx(0.716713).epsilon(1e-5));
  CHECK(a.high == Approx(0.988881).epsilon(1e-5));
  a = WilsonInterval(3, 3);  // 1.0 on three rows is not "exact"
  CHECK(a.low == Approx(0.438503).epsilon(1e-5));
  CHECK(a.high == 1.0);
  a = WilsonInterval(50, 100);
  CHECK(a.low == Approx(0.403832).epsilon(1e-5));
  CHECK(a.high == Approx(0.596168).epsilon(1e-5));
  CHECK(std::isnan(WilsonInterval(0, 0).low));
}

TEST_CASE("intervals: DeLong's interval of a binary AUROC") {
  const std::vector<float> scores = {0.1f, 0.4f, 0.35f, 0.8f, 0.2f, 0.7f, 0.5f, 0.5f, 0.9f, 0.3f};
  const std::vector<int64_t> y = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
  CHECK(BinaryAuroc(scores, y) == Approx(0.9));
  const Interval ci = DeLongInterval(scores, y);
  CHECK(ci.low == Approx(0.704004).epsilon(1e-5));
  CHECK(ci.high == 1.0);  // clamped
  // One positive, or a NaN score: no interval.
  CHECK(std::isnan(DeLongInterval({0.1f, 0.2f, 0.9f}, {0, 0, 1}).low));
  CHECK(std::isnan(DeLongInterval({0.1f, std::nanf(""), 0.9f, 0.3f}, {0, 0, 1, 1}).low));
  // Two classes through AurocInterval: the same as DeLong on class 1's probability.
  std::vector<float> probs;
  for (float s : scores) probs.insert(probs.end(), {1 - s, s});
  const Interval same = AurocInterval(probs, y, 2);
  CHECK(same.low == Approx(ci.low));
  CHECK(same.high == Approx(ci.high));
}

TEST_CASE("intervals: the bootstrap interval of a macro AUROC holds the estimate and narrows with data") {
  auto sample = [](int n) {
    std::vector<float> probs;
    std::vector<int64_t> labels;
    uint64_t state = 12345;
    auto uniform = [&state] {  // a deterministic LCG in [0, 1)
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<float>(state >> 40) / static_cast<float>(1ull << 24);
    };
    for (int i = 0; i < n; ++i) {
      const int64_t c = i % 3;
      std::vector<float> p = {uniform(), uniform(), uniform()};
      p[static_cast<size_t>(c)] += 0.4f;  // informative, with much overlap
      probs.insert(probs.end(), p.begin(), p.end());
      labels.push_back(c);
    }
    return std::make_pair(probs, labels);
  };
  const auto [p30, y30] = sample(30);
  const auto [p300, y300] = sample(300);
  const double auc = MacroAuroc(p30, y30, 3);
  CHECK(auc > 0.6);
  CHECK(auc < 0.95);
  const Interval small = AurocInterval(p30, y30, 3), large = AurocInterval(p300, y300, 3);
  CHECK(small.low <= auc);
  CHECK(auc <= small.high);
  CHECK(large.high - large.low < small.high - small.low);
  const Interval again = AurocInterval(p30, y30, 3);  // a fixed seed: the same interval
  CHECK(again.low == small.low);
  CHECK(again.high == small.high);
}

TEST_CASE("intervals: the bootstrap interval of a mean Dice") {
  const Interval same = MeanInterval({0.8, 0.8, 0.8});
  CHECK(same.low == Approx(0.8));
  CHECK(same.high == Approx(0.8));
  const Interval spread = MeanInterval({0.2, 0.9, 0.85, 0.95, 0.6});
  CHECK(spread.low < 0.7);
  CHECK(spread.high > 0.7);
  CHECK(spread.low >= 0.2);
  CHECK(spread.high <= 0.95);
  CHECK(std::isnan(MeanInterval({0.9}).low));
}
