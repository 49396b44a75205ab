// The merge federation's running merge (coordinator/merge_accumulator.h): weighted means
// over windows, re-basing of vectors taken against a merged version, staleness weights,
// and the state saved with each version read back; and its ledger (merge_ledger.h).
#include <catch2/catch.hpp>

#include <cmath>

#include "fl/crypto.h"
#include "mem_env.h"
#include "merge_accumulator.h"
#include "merge_ledger.h"

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
  m.Add({1.0, -2.0}, 30, {}, 1.0, {kId1});
  m.Add({4.0, 1.0}, 10, {}, 1.0, {kId2});
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
  m.Add({2.0}, 10, {}, 1.0, {kId1});
  // Version 1 was published with lambda 2: M_1 = B0 + 2 * 2 = B0 + 4.
  const std::vector<float> offset = {4.0f};
  const double alpha = StalenessWeight(3);
  CHECK(alpha == Approx(0.5));
  m.Add({1.0}, 10, {&offset, 2.0}, alpha, {kId2});
  // r = (tau' + M_1 - B0) / lambda_1 = (1 + 4) / 2: B0 + 2 r is the fine-tuned model M_1 + 1.
  CHECK(m.Direction()[0] == Approx((10 * 2.0 + 5 * 2.5) / 15));
  CHECK(m.total_weight() == Approx(15));
  CHECK(StalenessWeight(0) == 1.0);
  // A vector of zeros against M_1, at lambda_1, leaves the model where it was.
  MergeAccumulator same(1);
  same.Add({2.0}, 10, {}, 1.0, {kId1});
  same.Add({0.0}, 10, {&offset, 2.0}, 1.0, {kId3});
  CHECK(same.Model({0.0f}, 2.0)[0] == Approx(4.0));
}

TEST_CASE("the saved state is read back; a damaged one is refused", "[merge]") {
  MergeAccumulator m(3);
  m.Add({0.25, -1.0, 3.0}, 7, {}, 1.0, {kId1, kId2});
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

TEST_CASE("the ledger keeps spent vector ids and each version's lambda across a restart", "[merge]") {
  fl::testing::MemEnv env;
  const std::string dir = "state";
  REQUIRE(env.MakeDirs(dir).ok());
  fl::coordinator::MergeLedger ledger(env, dir);
  ledger.SetBase(std::string(64, 'e'));
  CHECK(ledger.VersionOfModel(std::string(64, 'e')) == 0u);
  CHECK(ledger.LambdaOf(0) == 1.0);
  CHECK_FALSE(ledger.VersionOfModel(std::string(64, 'f')));
  REQUIRE(ledger.RecordSpent({kId1, kId2}).ok());
  REQUIRE(env.WriteFile(dir + "/" + fl::coordinator::VersionFile(1), "version one").ok());
  REQUIRE(ledger.RecordVersion(1, 1.5).ok());
  const std::string v1_hash = fl::crypto::HashHex("version one");
  CHECK(ledger.VersionOfModel(v1_hash) == 1u);

  fl::coordinator::SavedState saved;
  saved.model_version = 1;
  saved.versions_on_disk = {0, 1};
  saved.metrics_lines = {R"({"round":1,"model_version":1,"kind":"merge","lambda":1.5})"};
  fl::coordinator::MergeLedger again(env, dir);
  again.SetBase(std::string(64, 'e'));
  REQUIRE(again.Open(saved).ok());
  CHECK(again.Spent(kId1));
  CHECK(again.Spent(kId2));
  CHECK_FALSE(again.Spent(kId3));
  CHECK(again.LambdaOf(1) == 1.5);
  CHECK(again.VersionOfModel(v1_hash) == 1u);

  REQUIRE(env.WriteFile(dir + "/spent-vectors.txt", "not an id\n").ok());
  fl::coordinator::MergeLedger damaged(env, dir);
  CHECK_FALSE(damaged.Open(saved).ok());
}
