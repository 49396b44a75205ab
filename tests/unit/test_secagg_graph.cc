// Tests for the SecAgg+ neighbour graphs (fl/secagg/graph.h). The Harary graphs are
// drawn from fixed seeds, so every assertion here is deterministic.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "fl/crypto.h"
#include "fl/secagg/graph.h"

using fl::StatusCode;
using fl::secagg::NeighbourGraph;
namespace crypto = fl::crypto;

namespace {

crypto::SecretKey SeedOf(uint32_t i, uint8_t fill = 0x5A) {
  crypto::SecretKey k;
  std::memset(k.data(), fill, k.size());
  std::memcpy(k.data(), &i, sizeof i);
  return k;
}

// `n` distinct ids, not contiguous, in no particular order, starting with 3, 10, 11, 500.
std::vector<uint32_t> SparseIds(size_t n, uint32_t seed = 1) {
  std::vector<uint32_t> out;
  std::set<uint32_t> seen;
  for (uint32_t x : {3u, 10u, 11u, 500u, 0xFFFFFFFFu}) {
    if (out.size() < n && seen.insert(x).second) out.push_back(x);
  }
  std::mt19937 rng(seed);
  while (out.size() < n) {
    const uint32_t x = 1 + rng() % 5000000;
    if (seen.insert(x).second) out.push_back(x);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

NeighbourGraph MustHarary(const std::vector<uint32_t>& ids, uint32_t k, const crypto::SecretKey& seed) {
  auto g = NeighbourGraph::Harary(ids, k, seed);
  INFO(g.status().ToString());
  REQUIRE(g.ok());
  return *g;
}

// Every id reachable from ids[0] through Neighbours().
size_t Reachable(const NeighbourGraph& g, const std::vector<uint32_t>& ids) {
  std::set<uint32_t> seen = {ids[0]};
  std::deque<uint32_t> todo = {ids[0]};
  while (!todo.empty()) {
    const uint32_t u = todo.front();
    todo.pop_front();
    for (uint32_t v : g.Neighbours(u)) {
      if (seen.insert(v).second) todo.push_back(v);
    }
  }
  return seen.size();
}

// The properties every k-regular Harary graph over `ids` must have.
void CheckRegular(const NeighbourGraph& g, const std::vector<uint32_t>& ids, uint32_t k) {
  const size_t n = ids.size();
  const std::set<uint32_t> members(ids.begin(), ids.end());
  REQUIRE(g.size() == n);
  REQUIRE(g.degree() == k);
  REQUIRE_FALSE(g.complete());
  std::map<uint32_t, std::vector<uint32_t>> nb;
  size_t degree_sum = 0;
  for (uint32_t u : ids) {
    INFO("node " << u);
    REQUIRE(g.Contains(u));
    const std::vector<uint32_t> v = g.Neighbours(u);
    REQUIRE(v.size() == k);
    degree_sum += v.size();
    REQUIRE(std::is_sorted(v.begin(), v.end()));
    REQUIRE(std::adjacent_find(v.begin(), v.end()) == v.end());  // no duplicates
    REQUIRE_FALSE(std::binary_search(v.begin(), v.end(), u));    // no self loop
    REQUIRE_FALSE(g.AreNeighbours(u, u));
    for (uint32_t w : v) REQUIRE(members.count(w) == 1);
    nb[u] = v;
  }
  REQUIRE(degree_sum == n * k);
  // AreNeighbours is symmetric and agrees with Neighbours() on every pair.
  size_t edges = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto& vi = nb[ids[i]];
    for (size_t j = i + 1; j < n; ++j) {
      const bool ab = g.AreNeighbours(ids[i], ids[j]);
      const bool listed = std::binary_search(vi.begin(), vi.end(), ids[j]);
      if (ab != listed || ab != g.AreNeighbours(ids[j], ids[i])) {
        FAIL("pair " << ids[i] << "-" << ids[j] << ": AreNeighbours " << ab << " listed " << listed);
      }
      edges += ab;
    }
  }
  CHECK(edges == n * k / 2);
  CHECK(Reachable(g, ids) == n);
  // Non-members.
  uint32_t outsider = 1;
  while (members.count(outsider)) ++outsider;
  CHECK_FALSE(g.Contains(outsider));
  CHECK(g.Neighbours(outsider).empty());
  CHECK_FALSE(g.AreNeighbours(ids[0], outsider));
  CHECK_FALSE(g.AreNeighbours(outsider, ids[0]));
}

bool SameGraph(const NeighbourGraph& a, const NeighbourGraph& b, const std::vector<uint32_t>& ids) {
  for (uint32_t u : ids) {
    if (a.Neighbours(u) != b.Neighbours(u)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("graph: Complete links everyone to everyone", "[graph]") {
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{10}, size_t{57}}) {
    CAPTURE(n);
    const std::vector<uint32_t> ids = SparseIds(n);
    const NeighbourGraph g = NeighbourGraph::Complete(ids);
    CHECK(g.complete());
    CHECK(g.size() == n);
    CHECK(g.degree() == n - 1);
    std::vector<uint32_t> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    for (uint32_t u : ids) {
      std::vector<uint32_t> want;
      for (uint32_t w : sorted) {
        if (w != u) want.push_back(w);
      }
      CHECK(g.Neighbours(u) == want);
      CHECK_FALSE(g.AreNeighbours(u, u));
      for (uint32_t w : ids) {
        if (w != u) CHECK(g.AreNeighbours(u, w));
      }
    }
  }
  // Duplicates are merged; the empty graph has degree 0.
  const NeighbourGraph dup = NeighbourGraph::Complete({7, 3, 7, 9, 3});
  CHECK(dup.size() == 3);
  CHECK(dup.degree() == 2);
  CHECK(dup.Neighbours(7) == std::vector<uint32_t>{3, 9});
  const NeighbourGraph empty = NeighbourGraph::Complete({});
  CHECK(empty.size() == 0);
  CHECK(empty.degree() == 0);
  CHECK(empty.Neighbours(1).empty());
}

TEST_CASE("graph: Harary graphs are k-regular, symmetric and connected", "[graph]") {
  const std::vector<std::pair<size_t, uint32_t>> cases = {
      {10, 2}, {10, 4}, {10, 6}, {10, 8}, {11, 8}, {101, 2}, {101, 10}, {101, 74}, {1000, 2}, {1000, 84}};
  for (const auto& [n, k] : cases) {
    CAPTURE(n, k);
    const std::vector<uint32_t> ids = SparseIds(n, static_cast<uint32_t>(n));
    CheckRegular(MustHarary(ids, k, SeedOf(static_cast<uint32_t>(n * 1000 + k))), ids, k);
  }
}

TEST_CASE("graph: Harary ignores the order of the ids and merges duplicates", "[graph]") {
  std::vector<uint32_t> ids = SparseIds(50);
  const crypto::SecretKey seed = SeedOf(3);
  const NeighbourGraph a = MustHarary(ids, 6, seed);
  std::vector<uint32_t> shuffled = ids;
  std::reverse(shuffled.begin(), shuffled.end());
  shuffled.push_back(ids[4]);
  shuffled.push_back(ids[9]);
  const NeighbourGraph b = MustHarary(shuffled, 6, seed);
  CHECK(b.size() == 50);
  CHECK(SameGraph(a, b, ids));
}

TEST_CASE("graph: Harary is a deterministic function of the seed", "[graph]") {
  for (size_t n : {size_t{10}, size_t{101}, size_t{1000}}) {
    CAPTURE(n);
    const std::vector<uint32_t> ids = SparseIds(n, 77);
    const uint32_t k = n == 10 ? 4 : 10;
    const NeighbourGraph a = MustHarary(ids, k, SeedOf(1));
    const NeighbourGraph b = MustHarary(ids, k, SeedOf(1));
    CHECK(SameGraph(a, b, ids));
    if (n == 1000) {
      // Another seed, even one differing in a single bit, gives another graph.
      const NeighbourGraph c = MustHarary(ids, k, SeedOf(2));
      CHECK_FALSE(SameGraph(a, c, ids));
      crypto::SecretKey flipped = SeedOf(1);
      flipped.data()[31] ^= 0x01;
      CHECK_FALSE(SameGraph(a, MustHarary(ids, k, flipped), ids));
      // And not merely a relabelling of the same ring: most neighbourhoods change.
      size_t changed = 0;
      for (uint32_t u : ids) changed += a.Neighbours(u) != c.Neighbours(u);
      CHECK(changed > n / 2);
    }
  }
}

TEST_CASE("graph: Harary with k >= n - 1 (or n < 3) is the complete graph", "[graph]") {
  const std::vector<uint32_t> ids = SparseIds(10);
  for (uint32_t k : {9u, 10u, 11u, 1000u}) {
    CAPTURE(k);
    const NeighbourGraph g = MustHarary(ids, k, SeedOf(5));
    CHECK(g.complete());
    CHECK(g.degree() == 9);
    CHECK(g.size() == 10);
    for (uint32_t u : ids) CHECK(g.Neighbours(u).size() == 9);
  }
  for (size_t n : {size_t{1}, size_t{2}, size_t{3}}) {
    CAPTURE(n);
    const NeighbourGraph g = MustHarary(SparseIds(n), 2, SeedOf(5));
    CHECK(g.complete());
    CHECK(g.degree() == n - 1);
  }
}

TEST_CASE("graph: Harary with an odd degree joins opposite workers on an even ring", "[graph]") {
  const std::vector<uint32_t> ids = SparseIds(100);
  for (uint32_t k : {3u, 61u, 97u}) {
    CAPTURE(k);
    const NeighbourGraph g = MustHarary(ids, k, SeedOf(k));
    CheckRegular(g, ids, k);
  }
}

TEST_CASE("graph: Harary rejects odd degrees on odd rings, or too small degrees", "[graph]") {
  const std::vector<uint32_t> ids = SparseIds(101);
  for (uint32_t k : {0u, 1u, 3u, 5u, 7u, 73u, 99u}) {
    CAPTURE(k);
    auto g = NeighbourGraph::Harary(ids, k, SeedOf(5));
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("graph: Harary permutation covers every pair over many seeds", "[graph]") {
  // n = 10, k = 2: a random ring has 10 of the 45 pairs as edges (probability 2/9 each).
  // Over 200 seeds every pair must appear, and no pair far too often (expected ~44).
  const std::vector<uint32_t> ids = {3, 10, 11, 500, 501, 502, 7000, 7001, 123456, 4000000000u};
  std::map<std::pair<uint32_t, uint32_t>, int> count;
  for (uint32_t s = 0; s < 200; ++s) {
    const NeighbourGraph g = MustHarary(ids, 2, SeedOf(s, 0xC3));
    for (size_t i = 0; i < ids.size(); ++i) {
      for (size_t j = i + 1; j < ids.size(); ++j) {
        if (g.AreNeighbours(ids[i], ids[j])) ++count[{ids[i], ids[j]}];
      }
    }
  }
  REQUIRE(count.size() == 45);
  int total = 0;
  for (const auto& [pair, c] : count) {
    CAPTURE(pair.first, pair.second, c);
    CHECK(c >= 15);
    CHECK(c <= 80);
    total += c;
  }
  CHECK(total == 200 * 10);
}
