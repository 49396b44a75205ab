// Tests for pairwise masking (fl/masking.h) and the ChaCha20 helpers of fl/crypto.h.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "fl/crypto.h"
#include "fl/masking.h"
#include "fl/ring.h"

using fl::ApplyPairwiseMasks;
using fl::MaskContext;
using fl::PairwiseMaskKey;
using fl::PeerMaskKey;
using fl::RingVector;
using fl::StatusCode;
namespace crypto = fl::crypto;

namespace {

bool SameKey(const crypto::SecretKey& a, const crypto::SecretKey& b) {
  return std::memcmp(a.data(), b.data(), crypto::kKeyBytes) == 0;
}

MaskContext Ctx(uint32_t round, uint8_t session_byte = 0xA5) {
  MaskContext c;
  c.session.assign(16, session_byte);
  c.session[0] = 1;
  c.round = round;
  return c;
}

crypto::SecretKey MustKey(const crypto::SecretKey& sk, const crypto::PublicKey& pk,
                          const MaskContext& ctx, uint32_t self, uint32_t peer) {
  auto k = PairwiseMaskKey(sk, pk, ctx, self, peer);
  REQUIRE(k.ok());
  return *k;
}

RingVector RandomRing(size_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  RingVector v(d);
  for (size_t i = 0; i < d; ++i) v[i] = rng();
  return v;
}

// Runs n workers (ids not contiguous) through pairwise masking; returns inputs and
// masked vectors. `bad_round_worker` (if < n) derives its keys with another round.
void MaskCohort(size_t n, size_t d, std::vector<RingVector>* inputs, std::vector<RingVector>* masked,
                size_t bad_round_worker = SIZE_MAX) {
  std::vector<uint32_t> ids;
  std::vector<crypto::X25519KeyPair> kps;
  for (size_t k = 0; k < n; ++k) {
    ids.push_back(static_cast<uint32_t>(100 - 7 * k));  // descending, not contiguous
    kps.push_back(crypto::GenerateX25519());
  }
  for (size_t u = 0; u < n; ++u) {
    inputs->push_back(RandomRing(d, static_cast<uint32_t>(1000 * n + u)));
    RingVector y = inputs->back();
    std::vector<PeerMaskKey> peers;
    const MaskContext ctx = Ctx(u == bad_round_worker ? 8 : 7);
    for (size_t v = 0; v < n; ++v) {
      if (v == u) continue;
      peers.push_back({ids[v], MustKey(kps[u].secret_key, kps[v].public_key, ctx, ids[u], ids[v])});
    }
    ApplyPairwiseMasks(ids[u], peers, &y);
    masked->push_back(std::move(y));
  }
}

RingVector Sum(const std::vector<RingVector>& vs) {
  RingVector s(vs.at(0).size());
  for (const auto& v : vs) REQUIRE(s.Add(v).ok());
  return s;
}

}  // namespace

TEST_CASE("masking: pairwise key is symmetric and bound to round, session and pair", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const auto u = crypto::GenerateX25519();
  const auto v = crypto::GenerateX25519();
  const auto w = crypto::GenerateX25519();
  const MaskContext ctx = Ctx(3);

  const auto k_uv = MustKey(u.secret_key, v.public_key, ctx, 4, 9);
  const auto k_vu = MustKey(v.secret_key, u.public_key, ctx, 9, 4);
  CHECK(SameKey(k_uv, k_vu));
  CHECK_FALSE(SameKey(k_uv, crypto::SecretKey()));  // not all zero

  // Different round.
  CHECK_FALSE(SameKey(k_uv, MustKey(u.secret_key, v.public_key, Ctx(4), 4, 9)));
  // Different session (one byte differs), and a session that is a prefix of another.
  CHECK_FALSE(SameKey(k_uv, MustKey(u.secret_key, v.public_key, Ctx(3, 0x5A), 4, 9)));
  MaskContext shorter = ctx;
  shorter.session.pop_back();
  CHECK_FALSE(SameKey(k_uv, MustKey(u.secret_key, v.public_key, shorter, 4, 9)));
  // Same DH secret, different worker ids.
  CHECK_FALSE(SameKey(k_uv, MustKey(u.secret_key, v.public_key, ctx, 4, 10)));
  CHECK_FALSE(SameKey(k_uv, MustKey(u.secret_key, v.public_key, ctx, 5, 9)));
  // Different peer.
  const auto k_uw = MustKey(u.secret_key, w.public_key, ctx, 4, 11);
  CHECK_FALSE(SameKey(k_uv, k_uw));
  CHECK(SameKey(k_uw, MustKey(w.secret_key, u.public_key, ctx, 11, 4)));
  // Deterministic.
  CHECK(SameKey(k_uv, MustKey(u.secret_key, v.public_key, ctx, 4, 9)));
}

TEST_CASE("masking: self-pair and low-order peer keys are rejected", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const auto u = crypto::GenerateX25519();
  const auto v = crypto::GenerateX25519();
  auto self = PairwiseMaskKey(u.secret_key, v.public_key, Ctx(1), 5, 5);
  CHECK(self.status().code() == StatusCode::kInvalidArgument);

  crypto::PublicKey zero{};
  crypto::PublicKey one{};
  one[0] = 1;  // u = 1: a point of order 4
  for (const auto& bad : {zero, one}) {
    auto agree = crypto::X25519Agree(u.secret_key, bad);
    CHECK(agree.status().code() == StatusCode::kInvalidArgument);
    CHECK(!PairwiseMaskKey(u.secret_key, bad, Ctx(1), 1, 2).ok());
  }
  // A genuine key agrees in both directions.
  auto a = crypto::X25519Agree(u.secret_key, v.public_key);
  auto b = crypto::X25519Agree(v.secret_key, u.public_key);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(SameKey(*a, *b));
}

TEST_CASE("masking: masks cancel exactly in the cohort sum", "[masking]") {
  REQUIRE(crypto::Init().ok());
  for (size_t n : {2u, 3u, 7u}) {
    for (size_t d : {1000u, 4097u, 8193u}) {
      INFO("n = " << n << ", d = " << d);
      std::vector<RingVector> in, masked;
      MaskCohort(n, d, &in, &masked);
      CHECK(Sum(masked).words() == Sum(in).words());
      for (size_t k = 0; k < n; ++k) {
        size_t same = 0;
        for (size_t i = 0; i < d; ++i) same += masked[k][i] == in[k][i];
        CHECK(same < d / 100);  // > 99% of coordinates changed
      }
    }
  }
}

TEST_CASE("masking: keys from different rounds do not cancel", "[masking]") {
  REQUIRE(crypto::Init().ok());
  std::vector<RingVector> in, masked;
  MaskCohort(3, 1000, &in, &masked, /*bad_round_worker=*/1);
  const RingVector a = Sum(masked), b = Sum(in);
  size_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  CHECK(same < 10);
}

TEST_CASE("masking: ApplyPairwiseMasks with no peers leaves the vector unchanged", "[masking]") {
  RingVector v = RandomRing(50, 3);
  const RingVector orig = v;
  ApplyPairwiseMasks(1, {}, &v);
  CHECK(v.words() == orig.words());
}

TEST_CASE("masking: AddChaCha20Mask +1 then -1 restores the vector", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const auto key = crypto::RandomKey();
  for (size_t n : {1u, 15u, 4096u, 4097u, 10000u}) {
    INFO("n = " << n);
    RingVector v = RandomRing(n, static_cast<uint32_t>(n));
    const RingVector orig = v;
    crypto::AddChaCha20Mask(key, +1, v.data(), n);
    size_t same = 0;
    for (size_t i = 0; i < n; ++i) same += v[i] == orig[i];
    CHECK(same <= n / 100);
    crypto::AddChaCha20Mask(key, -1, v.data(), n);
    CHECK(v.words() == orig.words());
  }
}

TEST_CASE("masking: AddChaCha20Mask adds one continuous keystream across chunks", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const auto key = crypto::RandomKey();
  const size_t n = 9000;  // three 4096-word chunks
  std::vector<uint32_t> stream(n);
  crypto::ChaCha20Words(key, 0, stream.data(), n);
  RingVector v(n);
  crypto::AddChaCha20Mask(key, +1, v.data(), n);
  CHECK(v.words() == stream);
  // Subtracting is the ring negation of the same stream.
  RingVector w(n);
  crypto::AddChaCha20Mask(key, -1, w.data(), n);
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) bad += w[i] != 0u - stream[i];
  CHECK(bad == 0);
}

TEST_CASE("masking: ChaCha20Words starts at first_block (16 words per block)", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const auto key = crypto::RandomKey();
  std::array<uint32_t, 64> whole{}, parts{};
  crypto::ChaCha20Words(key, 0, whole.data(), 64);
  crypto::ChaCha20Words(key, 0, parts.data(), 32);
  crypto::ChaCha20Words(key, 2, parts.data() + 32, 32);
  CHECK(parts == whole);
  // Block 1 alone is words [16, 32) of the whole stream.
  std::array<uint32_t, 16> b1{};
  crypto::ChaCha20Words(key, 1, b1.data(), 16);
  CHECK(std::equal(b1.begin(), b1.end(), whole.begin() + 16));
  // Another key gives another stream.
  std::array<uint32_t, 64> other{};
  crypto::ChaCha20Words(crypto::RandomKey(), 0, other.data(), 64);
  CHECK(other != whole);
}

TEST_CASE("masking: ChaCha20Words matches the RFC 8439 all-zero test vectors", "[masking]") {
  REQUIRE(crypto::Init().ok());
  const crypto::SecretKey zero;  // all-zero key, nonce 0
  // RFC 8439 A.1 #1 (block 0) and #2 (block 1), as little-endian words.
  const std::array<uint32_t, 16> block0 = {
      0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653, 0xb819d2bd, 0x1aed8da0, 0xccef36a8, 0xc70d778b,
      0x7c5941da, 0x8d485751, 0x3fe02477, 0x374ad8b8, 0xf4b8436a, 0x1ca11815, 0x69b687c3, 0x8665eeb2};
  const std::array<uint32_t, 16> block1 = {
      0xbee7079f, 0x7a385155, 0x7c97ba98, 0x0d082d73, 0xa0290fcb, 0x6965e348, 0x3e53c612, 0xed7aee32,
      0x7621b729, 0x434ee69c, 0xb03371d5, 0xd539d874, 0x281fed31, 0x45fb0a51, 0x1f0ae1ac, 0x6f4d794b};
  std::array<uint32_t, 32> got{};
  crypto::ChaCha20Words(zero, 0, got.data(), 32);
  CHECK(std::equal(block0.begin(), block0.end(), got.begin()));
  CHECK(std::equal(block1.begin(), block1.end(), got.begin() + 16));
}
