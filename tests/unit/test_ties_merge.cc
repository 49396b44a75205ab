// TIES merging at the coordinator (coordinator/ties_merge.h): signs elected from the sum
// of trimmed vectors, and the disjoint mean from the agreement round's sums.
#include <catch2/catch.hpp>

#include "ties_merge.h"

using namespace fl;
using namespace fl::coordinator;

TEST_CASE("each parameter's sign is elected by the weighted mass of the trimmed vectors", "[merge][ties]") {
  CHECK(ElectSigns({0.3, -1e-9, 0.0, -2.0}) == std::vector<float>{1, -1, 0, -1});
}

TEST_CASE("the disjoint mean averages only the entries that agree", "[merge][ties]") {
  // Three hospitals with weights 10, 20, 30 (W = 60), clip 2. Parameter 0: all agree with
  // entries 0.1, 0.2, 0.3; parameter 1: only the second, with -0.4; parameter 2: none.
  const double w = 60, clip = 2;
  const std::vector<double> agreement = {(10 * 0.1 + 20 * 0.2 + 30 * 0.3) / w, 20 * -0.4 / w, 0.0,
                                         clip * 60 / w, clip * 20 / w, 1e-9};
  auto m = DisjointMeanOf(agreement, clip, 60);
  REQUIRE(m.ok());
  CHECK(m->mean[0] == Approx((10 * 0.1 + 20 * 0.2 + 30 * 0.3) / 60));
  CHECK(m->mean[1] == Approx(-0.4));
  CHECK(m->mean[2] == 0.0);
  CHECK(m->agreeing == 2);
  CHECK(m->agreeing_weight == Approx((1.0 + 20.0 / 60) / 2));
  CHECK_FALSE(DisjointMeanOf({0.1, 0.2, 0.3}, clip, 60).ok());
  CHECK_FALSE(DisjointMeanOf(agreement, clip, 0).ok());
}
