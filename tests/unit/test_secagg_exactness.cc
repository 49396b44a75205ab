// Exactness of secure aggregation under random dropout schedules: the result equals
// the exact ring sum of the survivors' inputs, or the round aborts cleanly when too
// few workers remain. Complete-graph rounds are checked against an exact oracle of
// when the round must succeed or abort.
#include <catch2/catch.hpp>

#include <set>

#include "fl/secagg/simulation.h"

using namespace fl;
using namespace fl::secagg;

namespace {

// Test-only deterministic generator (schedules and inputs; not for secrets).
struct TestRng {
  uint64_t s;
  uint64_t Next() {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
};

RingVector Input(uint64_t seed, uint32_t id, size_t len) {
  TestRng r{seed * 1000003 + id};
  RingVector v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint32_t>(r.Next());
  return v;
}

int Reached(DropPoint p) {  // the highest phase whose message the worker sends
  switch (p) {
    case DropPoint::kNever: return 5;
    case DropPoint::kBeforeAdvertise: return 0;
    case DropPoint::kBeforeShare: return 1;
    case DropPoint::kBeforeMaskedInput: return 2;
    case DropPoint::kAfterMaskedInput: return 3;
    case DropPoint::kBeforeUnmask: return 4;
  }
  return 5;
}

// Outcome of a complete-graph round (t = majority of U1), derived from the protocol
// rules independently of the implementation. Returns U3 on success, nullopt on abort.
std::optional<std::set<uint32_t>> CompleteGraphOracle(uint32_t n, const std::map<uint32_t, DropPoint>& drops,
                                                      uint32_t min_cohort) {
  auto reached = [&](uint32_t id) {
    auto it = drops.find(id);
    return it == drops.end() ? 5 : Reached(it->second);
  };
  std::set<uint32_t> u1, u2, u3, u4, u5;
  for (uint32_t id = 1; id <= n; ++id) {
    if (reached(id) >= 1) u1.insert(id);
  }
  if (u1.size() < std::max<uint32_t>(3, min_cohort)) return std::nullopt;
  const uint32_t t = static_cast<uint32_t>(u1.size()) / 2 + 1;
  // No sum of fewer than max(t, min_cohort, 3) inputs is ever published.
  const uint32_t minimum = std::max({t, min_cohort, 3u});
  for (uint32_t id : u1) {
    if (reached(id) >= 2) u2.insert(id);
  }
  if (u2.size() < minimum) return std::nullopt;
  for (uint32_t id : u2) {  // a worker needs t live holders of its shares (itself included)
    if (reached(id) >= 3 && u2.size() >= t) u3.insert(id);
  }
  if (u3.size() < minimum) return std::nullopt;
  for (uint32_t id : u3) {
    if (reached(id) >= 4) u4.insert(id);
  }
  if (u4.size() < t) return std::nullopt;
  for (uint32_t id : u4) {  // needs t signatures (its own included)
    if (reached(id) >= 5 && u4.size() >= t) u5.insert(id);
  }
  // Every secret to rebuild (b_u of U3, mask secrets of U2 \ U3) has all of U5 as holders.
  if (u5.size() < t) return std::nullopt;
  return u3;
}

void RunSchedules(uint64_t first_seed, int count) {
  const DropPoint points[] = {DropPoint::kBeforeAdvertise, DropPoint::kBeforeShare, DropPoint::kBeforeMaskedInput,
                              DropPoint::kAfterMaskedInput, DropPoint::kBeforeUnmask};
  int successes = 0, aborts = 0;
  for (int s = 0; s < count; ++s) {
    const uint64_t seed = first_seed + static_cast<uint64_t>(s);
    TestRng rng{seed};
    SimulationOptions o;
    o.n = 3 + rng.Below(98);  // 3..100
    o.vector_length = 1 + rng.Below(70);
    o.min_cohort = 3;
    o.round = static_cast<uint32_t>(seed);
    const uint32_t drop_percent = rng.Below(45);
    for (uint32_t id = 1; id <= o.n; ++id) {
      if (rng.Below(100) < drop_percent) o.drops[id] = points[rng.Below(5)];
    }
    SimulationResult r = RunSimulation(o, [&](uint32_t id) { return Input(seed, id, o.vector_length); });
    INFO("seed " << seed << ": n=" << o.n << " drop%=" << drop_percent << " k=" << r.params.k << " t=" << r.params.t
                 << " status " << r.status.ToString());
    if (r.status.ok()) {
      ++successes;
      CHECK(r.survivors.size() >= std::max<uint32_t>(3, r.params.t));
      // Exactly the workers whose input went into the sum are the survivors...
      for (uint32_t id = 1; id <= o.n; ++id) {
        auto it = o.drops.find(id);
        const bool sent = it == o.drops.end() || Reached(it->second) >= 3;
        if (!sent) CHECK_FALSE(r.survivors.count(id));
      }
      // ...and the result is the exact ring sum of their inputs.
      RingVector expected(o.vector_length);
      for (uint32_t id : r.survivors) REQUIRE(expected.Add(Input(seed, id, o.vector_length)).ok());
      REQUIRE(r.sum.size() == expected.size());
      CHECK(r.sum.words() == expected.words());
    } else {
      ++aborts;
      CHECK(r.status.code() == StatusCode::kAborted);
      CHECK(r.sum.size() == 0);
    }
    if (r.params.complete) {
      const auto oracle = CompleteGraphOracle(o.n, o.drops, o.min_cohort);
      CHECK(oracle.has_value() == r.status.ok());
      if (oracle && r.status.ok()) CHECK(*oracle == r.survivors);
    } else if (o.drops.empty()) {
      CHECK(r.status.ok());
    }
  }
  CHECK(successes > 0);
  WARN(successes << " rounds completed, " << aborts << " aborted cleanly");
}

}  // namespace

TEST_CASE("secagg exactness: random dropout schedules, seeds 1-35", "[secagg][slow]") { RunSchedules(1, 35); }
TEST_CASE("secagg exactness: random dropout schedules, seeds 101-135", "[secagg][slow]") { RunSchedules(101, 35); }
TEST_CASE("secagg exactness: random dropout schedules, seeds 201-235", "[secagg][slow]") { RunSchedules(201, 35); }

TEST_CASE("secagg exactness: no dropout, Harary graph at n = 100", "[secagg]") {
  SimulationOptions o;
  o.n = 100;
  o.vector_length = 257;
  SimulationResult r = RunSimulation(o, [](uint32_t id) { return Input(7, id, 257); });
  REQUIRE(r.status.ok());
  CHECK_FALSE(r.params.complete);
  CHECK(r.survivors.size() == 100);
  RingVector expected(257);
  for (uint32_t id = 1; id <= 100; ++id) REQUIRE(expected.Add(Input(7, id, 257)).ok());
  CHECK(r.sum.words() == expected.words());
}

TEST_CASE("secagg exactness: too few survivors abort cleanly", "[secagg]") {
  SimulationOptions o;
  o.n = 6;  // complete graph, t = 4
  o.vector_length = 9;
  o.drops = {{1, DropPoint::kBeforeMaskedInput}, {2, DropPoint::kBeforeMaskedInput}, {3, DropPoint::kAfterMaskedInput}};
  SimulationResult r = RunSimulation(o, [](uint32_t id) { return Input(3, id, 9); });
  CHECK(r.status.code() == StatusCode::kAborted);
  CHECK_THAT(r.status.message(), Catch::Contains("threshold"));
  CHECK(r.sum.size() == 0);
}

// A published sum of two inputs would reveal each survivor's input to the other.
TEST_CASE("secagg exactness: no round completes with fewer than 3 survivors, at any step", "[secagg]") {
  const DropPoint points[] = {DropPoint::kBeforeAdvertise, DropPoint::kBeforeShare, DropPoint::kBeforeMaskedInput,
                              DropPoint::kAfterMaskedInput, DropPoint::kBeforeUnmask};
  for (uint32_t n : {3u, 4u}) {
    for (DropPoint first : points) {
      for (DropPoint second : points) {
        SimulationOptions o;
        o.n = n;
        o.vector_length = 5;
        o.drops[n] = first;
        if (n == 4) o.drops[3] = second;
        SimulationResult r = RunSimulation(o, [](uint32_t id) { return Input(11, id, 5); });
        INFO("n=" << n << " drops " << DropPointName(first) << ", " << DropPointName(second) << ": "
                  << r.status.ToString());
        if (r.status.ok()) {
          CHECK(r.survivors.size() >= 3);
        } else {
          CHECK(r.status.code() == StatusCode::kAborted);
          CHECK(r.sum.size() == 0);
        }
        // Exactly the rounds that would sum fewer than 3 inputs abort.
        const auto oracle = CompleteGraphOracle(o.n, o.drops, 3);
        CHECK(oracle.has_value() == r.status.ok());
      }
    }
  }
}

TEST_CASE("secagg exactness: three hospitals, one lost before its masked input: no sum of two", "[secagg]") {
  SimulationOptions o;
  o.n = 3;  // t = 2: the threshold alone would let two survivors finish
  o.vector_length = 9;
  o.drops = {{3, DropPoint::kBeforeMaskedInput}};
  SimulationResult r = RunSimulation(o, [](uint32_t id) { return Input(5, id, 9); });
  CHECK(r.params.t == 2);
  CHECK(r.status.code() == StatusCode::kAborted);
  CHECK_THAT(r.status.message(), Catch::Contains("only 2 masked inputs; the survivor minimum is 3"));
  CHECK(r.sum.size() == 0);
}

TEST_CASE("secagg exactness: four invited, one never advertises and one is lost: no sum of two", "[secagg]") {
  SimulationOptions o;
  o.n = 4;
  o.vector_length = 9;
  o.drops = {{4, DropPoint::kBeforeAdvertise}, {3, DropPoint::kBeforeMaskedInput}};
  SimulationResult r = RunSimulation(o, [](uint32_t id) { return Input(6, id, 9); });
  CHECK(r.status.code() == StatusCode::kAborted);
  CHECK(r.sum.size() == 0);
}
