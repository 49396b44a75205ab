// The merge federation's running merge (coordinator/merge_accumulator.h): weighted means
// over windows, re-basing of vectors taken against a merged version, staleness weights,
// and the state saved with each version read back.
#include <catch2/catch.hpp>

#include <cmath>

#include "merge_accumulator.h"

using fl::Checkpoint;
using fl::ModelLayout;
using fl::coordinator::MergeAccumulator;
using fl::coordinator::StalenessWeight;

namespace {
const std::string kId1(32, 'a'), kId2(32, 'b'), kId3(32, 'c');

ModelLayout Layout(uint64_t d) {
  ModelLayout l;
  l.tensors.push_back({"w", {d}});
  return l;
}
}  // namespace

TEST_CASE("windows merge into one weighted mean against the base", "[merge]") {
  MergeAccumulator m(2);
  m.Add({1.0, -2.0}, 30, nullptr, 1.0, {kId1});
  m.Add({4.0, 1.0}, 10, nullptr, 1.0, {kId2});
  const std::vector<float> a = m.Direction();
  CHECK(a[0] == Approx((30 * 1.0 + 10 * 4.0) / 40));
  CHECK(a[1] == Approx((30 * -2.0 + 10 * 1.0) / 40));
  CHECK(m.total_weight() == 40);
  CHECK(m.merged_count() == 2);
  CHECK(m.Merged(kId1));
  CHECK_FALSE(m.Merged(kId3));
  const std::vector<float> model = m.Model({1.0f, 1.0f}, 2.0);
  CHECK(model[0] == Approx(1 + 2 * a[0]));
}

TEST_CASE("a stale window is re-based onto the base and down-weighted", "[merge]") {
  MergeAccumulator m(1);
  m.Add({2.0}, 10, nullptr, 1.0, {kId1});
  const std::vector<float> offset = {0.5f};  // the merged version it was fine-tuned from, minus the base
  const double alpha = StalenessWeight(3);
  CHECK(alpha == Approx(0.5));
  m.Add({1.0}, 10, &offset, alpha, {kId2});
  CHECK(m.Direction()[0] == Approx((10 * 2.0 + 5 * (1.0 + 0.5)) / 15));
  CHECK(m.total_weight() == Approx(15));
  CHECK(StalenessWeight(0) == 1.0);
}

TEST_CASE("the saved state is read back; a damaged one is refused", "[merge]") {
  MergeAccumulator m(3);
  m.Add({0.25, -1.0, 3.0}, 7, nullptr, 1.0, {kId1, kId2});
  const Checkpoint saved = m.Save(Layout(3));
  auto back = MergeAccumulator::Restore(saved, 3, "state");
  REQUIRE(back.ok());
  CHECK(back->Direction() == m.Direction());
  CHECK(back->total_weight() == 7);
  CHECK(back->Merged(kId2));
  CHECK_FALSE(MergeAccumulator::Restore(saved, 4, "state").ok());
  Checkpoint bad = saved;
  bad.metadata["total_weight"] = "-1";
  CHECK_FALSE(MergeAccumulator::Restore(bad, 3, "state").ok());
  bad = saved;
  bad.metadata["merged_vectors"] = "xyz";
  CHECK_FALSE(MergeAccumulator::Restore(bad, 3, "state").ok());
  bad = saved;
  bad.metadata["kind"] = "data_vector";
  CHECK_FALSE(MergeAccumulator::Restore(bad, 3, "state").ok());
}
