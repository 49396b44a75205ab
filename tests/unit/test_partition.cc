// Tests for worker/data/dataset.h: deterministic partitioning of one file into sites,
// plain and with Dirichlet label skew.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "data/dataset.h"
#include "data/rng.h"

using fl::StatusCode;
using fl::data::Dataset;
using fl::data::Partition;
using fl::data::PartitionRows;
using fl::data::PartitionSizes;
using Catch::Matchers::Contains;

namespace {

std::vector<size_t> Rows(size_t n, std::vector<double> w, size_t index, uint64_t seed) {
  Partition p;
  p.weights = std::move(w);
  p.index = index;
  p.seed = seed;
  auto rows = PartitionRows(n, p);
  REQUIRE(rows.ok());
  return *rows;
}

}  // namespace

// ---- Partitioning ------------------------------------------------------------------------

TEST_CASE("partition: SplitMix64 matches the reference sequence", "[data][partition]") {
  fl::data::SplitMix64 rng(0);  // reference values of Vigna's splitmix64.c, seed 0
  CHECK(rng.Next() == 0xE220A8397B1DCDAFULL);
  CHECK(rng.Next() == 0x6E789E6AA1B965F4ULL);
  CHECK(rng.Next() == 0x06C45D188009454FULL);
}

TEST_CASE("partition: parts are disjoint, cover all rows and are deterministic",
          "[data][partition]") {
  const size_t n = 1003;
  const std::vector<double> w = {0.5, 0.3, 0.2, 1e-3};
  std::vector<size_t> all;
  for (size_t i = 0; i < w.size(); ++i) {
    const auto rows = Rows(n, w, i, 42);
    CHECK(rows == Rows(n, w, i, 42));                 // same seed -> same part
    CHECK(std::is_sorted(rows.begin(), rows.end()));  // returned in file order
    all.insert(all.end(), rows.begin(), rows.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<size_t> expected(n);
  std::iota(expected.begin(), expected.end(), size_t{0});
  CHECK(all == expected);  // disjoint (no duplicates) and covering
}

TEST_CASE("partition: fixed seed gives a fixed, platform-independent result",
          "[data][partition]") {
  // Golden values from an independent Python implementation of the documented algorithm.
  CHECK(Rows(10, {1, 1, 1}, 0, 42) == std::vector<size_t>{0, 5, 8, 9});
  CHECK(Rows(10, {1, 1, 1}, 1, 42) == std::vector<size_t>{4, 6, 7});
  CHECK(Rows(10, {1, 1, 1}, 2, 42) == std::vector<size_t>{1, 2, 3});
  CHECK(Rows(20, {2, 1, 1}, 1, 7) == std::vector<size_t>{5, 8, 12, 17, 19});
}

TEST_CASE("partition: sizes follow the weights with largest-remainder rounding",
          "[data][partition]") {
  const auto sizes = [](size_t n, std::vector<double> w) {
    auto s = PartitionSizes(n, w);
    REQUIRE(s.ok());
    return *s;
  };
  CHECK(sizes(10, {1, 1, 1}) == std::vector<size_t>{4, 3, 3});
  CHECK(sizes(10, {2, 1, 1}) == std::vector<size_t>{5, 3, 2});  // tie -> lower index
  CHECK(sizes(7, {3, 0, 4}) == std::vector<size_t>{3, 0, 4});
  CHECK(sizes(100, {30, 70}) == sizes(100, {0.3, 0.7}));        // weights are normalised
  CHECK(sizes(0, {1, 2}) == std::vector<size_t>{0, 0});
  CHECK(sizes(2, {1, 1, 1}) == std::vector<size_t>{1, 1, 0});
  CHECK(sizes(5, {1e300, 1e300}) == std::vector<size_t>{3, 2});  // no overflow to inf

  const std::vector<double> w = {0.17, 0.41, 0.05, 0.37};
  const size_t n = 9973;
  const auto s = sizes(n, w);
  CHECK(std::accumulate(s.begin(), s.end(), size_t{0}) == n);
  for (size_t i = 0; i < w.size(); ++i) {
    CHECK(std::fabs(static_cast<double>(s[i]) - w[i] * n) < 1.0);
    CHECK(Rows(n, w, i, 3).size() == s[i]);
  }
}

TEST_CASE("partition: the permutation depends on the seed", "[data][partition]") {
  CHECK(Rows(100, {1, 1}, 0, 1) != Rows(100, {1, 1}, 0, 2));
}

TEST_CASE("partition: empty weights keep every row", "[data][partition]") {
  Partition p;
  p.index = 3;  // ignored without weights
  auto rows = PartitionRows(5, p);
  REQUIRE(rows.ok());
  CHECK(*rows == std::vector<size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("partition: invalid weights and index are rejected", "[data][partition]") {
  const auto code = [](std::vector<double> w, size_t index) {
    Partition p;
    p.weights = std::move(w);
    p.index = index;
    return PartitionRows(10, p).status().code();
  };
  CHECK(code({1, 1}, 2) == StatusCode::kInvalidArgument);
  CHECK(code({1, -1}, 0) == StatusCode::kInvalidArgument);
  CHECK(code({1, std::numeric_limits<double>::quiet_NaN()}, 0) == StatusCode::kInvalidArgument);
  CHECK(code({1, std::numeric_limits<double>::infinity()}, 0) == StatusCode::kInvalidArgument);
  CHECK(code({0, 0}, 0) == StatusCode::kInvalidArgument);
  Partition p;
  p.weights = {1, 1};
  p.index = 5;
  CHECK_THAT(PartitionRows(10, p).status().message(), Contains("index 5"));
}

TEST_CASE("partition: Subset copies the chosen rows", "[data][partition]") {
  Dataset d;
  d.sample_shape = {2};
  d.num_classes = 3;
  d.features = {0, 1, 10, 11, 20, 21};
  d.labels = {0, 1, 2};
  const Dataset s = fl::data::Subset(d, {2, 0, 7});  // 7 is out of range: skipped
  CHECK(s.size() == 2);
  CHECK(s.features == std::vector<float>{20, 21, 0, 1});
  CHECK(s.labels == std::vector<int64_t>{2, 0});
  CHECK(s.sample_shape == d.sample_shape);
  CHECK(s.num_classes == 3);
}

TEST_CASE("partition: Dirichlet label skew is disjoint, covering and shared by train and test",
          "[partition]") {
  std::vector<int64_t> labels;
  for (int i = 0; i < 3000; ++i) labels.push_back(i % 3 == 0 ? 1 : 0);  // 1000 of class 1
  fl::data::Partition p;
  p.weights = {1, 1, 1};
  p.seed = 11;
  p.dirichlet_alpha = 0.3;
  std::vector<int> owner(labels.size(), -1);
  std::vector<double> class1_share;
  for (size_t site = 0; site < 3; ++site) {
    p.index = site;
    auto rows = fl::data::PartitionRowsByLabel(labels, p);
    REQUIRE(rows.ok());
    size_t ones = 0;
    for (size_t r : *rows) {
      REQUIRE(owner[r] == -1);
      owner[r] = static_cast<int>(site);
      ones += static_cast<size_t>(labels[r]);
    }
    class1_share.push_back(static_cast<double>(ones) / 1000.0);
    // The same proportions apply to a differently sized split (e.g. the test split).
    std::vector<int64_t> test(labels.begin(), labels.begin() + 300);
    auto test_rows = fl::data::PartitionRowsByLabel(test, p);
    REQUIRE(test_rows.ok());
    size_t test_ones = 0;
    for (size_t r : *test_rows) test_ones += static_cast<size_t>(test[r]);
    CHECK(std::abs(static_cast<double>(test_ones) / 100.0 - class1_share.back()) < 0.03);
  }
  for (int o : owner) CHECK(o >= 0);
  // With alpha = 0.3 the class mix differs strongly between sites.
  const auto [lo, hi] = std::minmax_element(class1_share.begin(), class1_share.end());
  CHECK(*hi - *lo > 0.2);
  // alpha = 0 is the plain proportional split.
  p.dirichlet_alpha = 0;
  p.index = 0;
  auto plain = fl::data::PartitionRowsByLabel(labels, p);
  auto reference = fl::data::PartitionRows(labels.size(), p);
  REQUIRE(plain.ok());
  REQUIRE(reference.ok());
  CHECK(*plain == *reference);
}
