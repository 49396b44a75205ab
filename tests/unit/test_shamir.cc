// Tests for Shamir secret sharing over GF(2^61 - 1) (fl/secagg/shamir.h).
//
// Split draws its polynomial coefficients from libsodium, so the shares differ from run
// to run; every assertion below holds for any coefficients (or fails only with
// probability ~2^-61), so the tests are deterministic in what they assert. The secrets
// and subsets are drawn from fixed-seed generators.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fl/crypto.h"
#include "fl/secagg/shamir.h"

using fl::StatusCode;
using fl::secagg::FieldAdd;
using fl::secagg::FieldInv;
using fl::secagg::FieldMul;
using fl::secagg::FieldSub;
using fl::secagg::kChunks;
using fl::secagg::kFieldPrime;
using fl::secagg::kShareBytes;
using fl::secagg::Reconstruct;
using fl::secagg::Share;
using fl::secagg::Split;
namespace crypto = fl::crypto;

namespace {

constexpr uint64_t P = kFieldPrime;
using u128 = unsigned __int128;

// Reference arithmetic in 128 bits.
uint64_t RefMul(uint64_t a, uint64_t b) { return static_cast<uint64_t>(u128{a} * b % P); }
uint64_t RefAdd(uint64_t a, uint64_t b) { return static_cast<uint64_t>((u128{a} + b) % P); }
uint64_t RefSub(uint64_t a, uint64_t b) { return static_cast<uint64_t>((u128{a} + P - b) % P); }

bool SameKey(const crypto::SecretKey& a, const crypto::SecretKey& b) {
  return std::memcmp(a.data(), b.data(), crypto::kKeyBytes) == 0;
}

std::string Hex(const crypto::SecretKey& k) { return crypto::ToHex(k.data(), k.size()); }

crypto::SecretKey RandomSecret(std::mt19937_64& rng) {
  crypto::SecretKey k;
  for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(rng());
  return k;
}

crypto::SecretKey Filled(uint8_t b) {
  crypto::SecretKey k;
  std::memset(k.data(), b, k.size());
  return k;
}

// The chunk layout documented in shamir.h: chunk c is bytes [7c, 7c + 7) little-endian,
// the last chunk has the remaining 4 bytes (32 = 4 * 7 + 4).
uint64_t ChunkOf(const crypto::SecretKey& s, size_t c) {
  const size_t begin = 7 * c;
  const size_t len = std::min<size_t>(7, crypto::kKeyBytes - begin);
  uint64_t v = 0;
  for (size_t i = 0; i < len; ++i) v |= uint64_t{s.data()[begin + i]} << (8 * i);
  return v;
}

// `n` distinct non-zero holder ids, not contiguous and not sorted, starting with some
// awkward values.
std::vector<uint32_t> Holders(size_t n, std::mt19937_64& rng) {
  std::vector<uint32_t> fixed = {17, 900, 65535, 1000000, 0xFFFFFFFFu, 1, 2};
  std::vector<uint32_t> out;
  std::set<uint32_t> seen;
  for (uint32_t x : fixed) {
    if (out.size() == n) break;
    out.push_back(x);
    seen.insert(x);
  }
  while (out.size() < n) {
    const uint32_t x = static_cast<uint32_t>(rng());
    if (x != 0 && seen.insert(x).second) out.push_back(x);
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// Value at `x` of the polynomial of degree < pts.size() through `pts`, by Lagrange
// interpolation with the library's field helpers.
uint64_t Interpolate(const std::vector<std::pair<uint64_t, uint64_t>>& pts, uint64_t x) {
  uint64_t acc = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < pts.size(); ++j) {
      if (i == j) continue;
      num = FieldMul(num, FieldSub(x, pts[j].first));
      den = FieldMul(den, FieldSub(pts[i].first, pts[j].first));
    }
    acc = FieldAdd(acc, FieldMul(pts[i].second, FieldMul(num, FieldInv(den))));
  }
  return acc;
}

// Lagrange coefficient of shares[i] for the value at `x`, over shares[0..t).
uint64_t LagrangeCoeff(const std::vector<Share>& shares, size_t t, size_t i, uint64_t x) {
  uint64_t num = 1, den = 1;
  for (size_t j = 0; j < t; ++j) {
    if (j == i) continue;
    num = FieldMul(num, FieldSub(x, shares[j].x));
    den = FieldMul(den, FieldSub(shares[i].x, shares[j].x));
  }
  return FieldMul(num, FieldInv(den));
}

std::vector<Share> MustSplit(const crypto::SecretKey& s, uint32_t t, const std::vector<uint32_t>& holders) {
  auto r = Split(s, t, holders);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  REQUIRE(r->size() == holders.size());
  return *r;
}

void RequireReconstructs(const std::vector<Share>& shares, uint32_t t, const crypto::SecretKey& want) {
  auto r = Reconstruct(shares, t);
  INFO("t=" << t << " shares=" << shares.size() << " status=" << r.status().ToString());
  REQUIRE(r.ok());
  CHECK(Hex(*r) == Hex(want));
}

std::vector<uint64_t> EdgeValues() {
  return {0, 1, 2, 3, P - 1, P - 2, P / 2, P / 2 + 1, uint64_t{1} << 32, (uint64_t{1} << 32) - 1,
          uint64_t{1} << 56, uint64_t{1} << 60, (uint64_t{1} << 60) + 12345};
}

}  // namespace

TEST_CASE("shamir: field helpers agree with 128-bit reference arithmetic", "[shamir]") {
  std::vector<uint64_t> vals = EdgeValues();
  std::mt19937_64 rng(61);
  for (int i = 0; i < 200; ++i) vals.push_back(rng() % P);
  for (uint64_t a : vals) {
    for (uint64_t b : vals) {
      INFO("a=" << a << " b=" << b);
      REQUIRE(FieldMul(a, b) == RefMul(a, b));
      REQUIRE(FieldAdd(a, b) == RefAdd(a, b));
      REQUIRE(FieldSub(a, b) == RefSub(a, b));
    }
  }
  // Results always lie in [0, p).
  CHECK(FieldAdd(P - 1, 1) == 0);
  CHECK(FieldAdd(P - 1, P - 1) == P - 2);
  CHECK(FieldSub(0, 1) == P - 1);
  CHECK(FieldMul(P - 1, P - 1) == 1);  // (-1)^2
  CHECK(FieldMul(P - 1, 2) == P - 2);
  CHECK(FieldMul(uint64_t{1} << 60, 2) == 1);  // 2^61 = 1 mod p
}

TEST_CASE("shamir: FieldInv is the multiplicative inverse", "[shamir]") {
  std::vector<uint64_t> vals = EdgeValues();
  std::mt19937_64 rng(62);
  for (int i = 0; i < 500; ++i) vals.push_back(rng() % (P - 1) + 1);
  for (uint64_t a : vals) {
    if (a == 0) continue;
    INFO("a=" << a);
    const uint64_t inv = FieldInv(a);
    REQUIRE(inv < P);
    REQUIRE(RefMul(a, inv) == 1);
    REQUIRE(FieldMul(inv, a) == 1);
  }
  CHECK(FieldInv(1) == 1);
  CHECK(FieldInv(P - 1) == P - 1);
  CHECK(FieldInv(2) == (P + 1) / 2);
}

TEST_CASE("shamir: Split/Reconstruct round trip with any t of n shares", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  const std::vector<std::pair<uint32_t, uint32_t>> cases = {{2, 2}, {2, 5}, {3, 7}, {50, 100}, {43, 84}};
  std::mt19937_64 rng(2024);
  for (const auto& [t, n] : cases) {
    CAPTURE(t, n);
    const crypto::SecretKey secret = RandomSecret(rng);
    const std::vector<uint32_t> holders = Holders(n, rng);
    const std::vector<Share> shares = MustSplit(secret, t, holders);
    for (size_t i = 0; i < n; ++i) {
      CHECK(shares[i].x == holders[i]);
      for (uint64_t y : shares[i].y) CHECK(y < P);
    }
    // All shares (the extra ones are checked), exactly the first t, and random subsets
    // of size t and t + 1 in random order.
    RequireReconstructs(shares, t, secret);
    RequireReconstructs(std::vector<Share>(shares.begin(), shares.begin() + t), t, secret);
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<Share> subset = shares;
      std::shuffle(subset.begin(), subset.end(), rng);
      subset.resize(t);
      RequireReconstructs(subset, t, secret);
      if (t < n) {
        std::vector<Share> plus = shares;
        std::shuffle(plus.begin(), plus.end(), rng);
        plus.resize(t + 1);
        RequireReconstructs(plus, t, secret);
      }
    }
  }
}

TEST_CASE("shamir: Reconstruct with fewer than t shares fails with FailedPrecondition", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(7);
  for (uint32_t t : {2u, 3u, 10u}) {
    CAPTURE(t);
    const crypto::SecretKey secret = RandomSecret(rng);
    const std::vector<Share> shares = MustSplit(secret, t, Holders(t + 2, rng));
    for (size_t m : {size_t{0}, size_t{1}, size_t{t - 1}}) {
      CAPTURE(m);
      auto r = Reconstruct(std::vector<Share>(shares.begin(), shares.begin() + m), t);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == StatusCode::kFailedPrecondition);
    }
  }
}

TEST_CASE("shamir: t-1 shares are consistent with every secret", "[shamir]") {
  // For t - 1 fixed shares and ANY target secret s', there is a t-th share (the
  // polynomial through the t - 1 shares and (0, s'), per chunk) that makes Reconstruct
  // return s'. So t - 1 shares carry no information about which secret was shared.
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(99);
  for (uint32_t t : {2u, 3u, 43u}) {
    CAPTURE(t);
    const crypto::SecretKey secret = RandomSecret(rng);
    const std::vector<uint32_t> holders = Holders(t + 3, rng);
    const std::vector<Share> shares = MustSplit(secret, t, holders);
    const std::vector<Share> known(shares.begin(), shares.begin() + (t - 1));
    const uint32_t x_last = shares[t].x;  // a holder not among the known ones
    std::vector<crypto::SecretKey> targets = {secret, Filled(0), Filled(0xFF)};
    for (int i = 0; i < 5; ++i) targets.push_back(RandomSecret(rng));
    for (const auto& target : targets) {
      Share completing;
      completing.x = x_last;
      for (size_t c = 0; c < kChunks; ++c) {
        std::vector<std::pair<uint64_t, uint64_t>> pts = {{0, ChunkOf(target, c)}};
        for (const Share& s : known) pts.push_back({s.x, s.y[c]});
        completing.y[c] = Interpolate(pts, x_last);
        REQUIRE(completing.y[c] < P);
      }
      std::vector<Share> with = known;
      with.push_back(completing);
      RequireReconstructs(with, t, target);
    }
    // The honest t-th share gives back the real secret.
    std::vector<Share> honest = known;
    honest.push_back(shares[t]);
    RequireReconstructs(honest, t, secret);
  }
}

TEST_CASE("shamir: interpolating t-1 shares as if the threshold were t-1 does not give the secret",
          "[shamir]") {
  // Shares of a degree t-1 polynomial, read as a degree t-2 one: the result is a
  // different value (almost always outside the chunk range, so DataLoss), never the
  // secret (except with probability ~2^-61 per chunk).
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(5);
  for (uint32_t t : {2u, 3u, 7u, 43u}) {
    CAPTURE(t);
    const crypto::SecretKey secret = RandomSecret(rng);
    const std::vector<Share> shares = MustSplit(secret, t, Holders(t + 1, rng));
    auto r = Reconstruct(std::vector<Share>(shares.begin(), shares.begin() + (t - 1)), t - 1);
    if (r.ok()) {
      CHECK_FALSE(SameKey(*r, secret));
    } else {
      CHECK(r.status().code() == StatusCode::kDataLoss);
    }
  }
}

TEST_CASE("shamir: Share Encode/Decode", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(11);
  const auto shares = MustSplit(RandomSecret(rng), 3, {17, 900, 65535, 1000000});
  for (const Share& s : shares) {
    const std::string bytes = s.Encode();
    REQUIRE(bytes.size() == kShareBytes);
    REQUIRE(kShareBytes == 40);
    // Little-endian, one 8-byte word per chunk.
    for (size_t c = 0; c < kChunks; ++c) {
      uint64_t v = 0;
      for (size_t b = 0; b < 8; ++b) v |= uint64_t{static_cast<uint8_t>(bytes[8 * c + b])} << (8 * b);
      CHECK(v == s.y[c]);
    }
    auto d = Share::Decode(s.x, bytes);
    REQUIRE(d.ok());
    CHECK(d->x == s.x);
    CHECK(d->y == s.y);
  }
  // Largest field element is accepted.
  Share top;
  top.x = 1;
  top.y.fill(P - 1);
  auto d = Share::Decode(1, top.Encode());
  REQUIRE(d.ok());
  CHECK(d->y == top.y);

  SECTION("wrong length") {
    const std::string good = shares[0].Encode();
    for (size_t len : {size_t{0}, size_t{8}, kShareBytes - 1, kShareBytes + 1, 2 * kShareBytes}) {
      CAPTURE(len);
      std::string bytes = good;
      bytes.resize(len, '\0');
      auto r = Share::Decode(17, bytes);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == StatusCode::kInvalidArgument);
    }
  }
  SECTION("x = 0") {
    auto r = Share::Decode(0, shares[0].Encode());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("element outside the field, in every chunk") {
    for (size_t c = 0; c < kChunks; ++c) {
      for (uint64_t bad : {P, P + 1, ~uint64_t{0}, uint64_t{1} << 63}) {
        CAPTURE(c, bad);
        Share s = shares[0];
        s.y[c] = bad;
        auto r = Share::Decode(s.x, s.Encode());
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST_CASE("shamir: Split rejects bad holders and thresholds", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  const crypto::SecretKey secret = Filled(0x42);
  auto expect_invalid = [&](uint32_t t, const std::vector<uint32_t>& holders) {
    auto r = Split(secret, t, holders);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  };
  expect_invalid(2, {5, 9, 5});         // duplicate
  expect_invalid(2, {5, 9, 9, 12});     // duplicate, adjacent
  expect_invalid(2, {5, 0, 9});         // zero holder
  expect_invalid(1, {0});               // zero holder alone
  expect_invalid(0, {5, 9, 12});        // threshold 0
  expect_invalid(4, {5, 9, 12});        // fewer holders than the threshold
  expect_invalid(1, {});                // no holders
  // Boundary cases that are fine.
  CHECK(Split(secret, 3, {5, 9, 12}).ok());
  CHECK(Split(secret, 1, {0xFFFFFFFFu}).ok());
}

TEST_CASE("shamir: Reconstruct rejects bad input", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  const auto shares = MustSplit(Filled(0x42), 2, {5, 9, 12});
  SECTION("threshold 0") {
    auto r = Reconstruct(shares, 0);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("duplicate x") {
    std::vector<Share> dup = {shares[0], shares[1], shares[0]};
    auto r = Reconstruct(dup, 2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("x = 0") {
    std::vector<Share> zero = {shares[0], shares[1]};
    zero[1].x = 0;
    auto r = Reconstruct(zero, 2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("shamir: a forged share is detected when one extra share is given", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(31337);
  for (uint32_t t : {2u, 3u, 10u}) {
    CAPTURE(t);
    const crypto::SecretKey secret = RandomSecret(rng);
    const auto shares = MustSplit(secret, t, Holders(t + 1, rng));
    RequireReconstructs(shares, t, secret);
    // Any one of the t + 1 shares modified in any one chunk, by any non-zero amount.
    for (size_t i = 0; i <= t; ++i) {
      for (size_t c = 0; c < kChunks; ++c) {
        for (uint64_t delta : {uint64_t{1}, P - 1, uint64_t{1} << 40}) {
          CAPTURE(i, c, delta);
          std::vector<Share> forged = shares;
          forged[i].y[c] = FieldAdd(forged[i].y[c], delta);
          auto r = Reconstruct(forged, t);
          REQUIRE_FALSE(r.ok());
          CHECK(r.status().code() == StatusCode::kDataLoss);
        }
      }
    }
  }
}

TEST_CASE("shamir: with exactly t shares a forged share cannot be detected", "[shamir]") {
  // With exactly t shares there is no redundancy: every set of t values is consistent
  // with some polynomial, so Reconstruct cannot tell a forged share from an honest one.
  // A random modification usually pushes a chunk out of range (DataLoss), but a forger
  // who knows the public x-coordinates can shift the secret by an amount of its choice
  // and Reconstruct returns the wrong secret without an error. Callers must check the
  // result (the server compares the rebuilt mask secret with its signed public key).
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(4242);
  for (uint32_t t : {2u, 3u, 10u}) {
    CAPTURE(t);
    crypto::SecretKey secret = RandomSecret(rng);
    secret.data()[0] = 0x10;  // chunk 0 + 1 stays below 2^56
    const auto shares = MustSplit(secret, t, Holders(t, rng));
    for (size_t i = 0; i < t; ++i) {
      CAPTURE(i);
      // Random modification: never the real secret.
      {
        std::vector<Share> forged = shares;
        forged[i].y[2] = FieldAdd(forged[i].y[2], 0x123456789ULL);
        auto r = Reconstruct(forged, t);
        if (r.ok()) CHECK_FALSE(SameKey(*r, secret));
        else CHECK(r.status().code() == StatusCode::kDataLoss);
      }
      // Targeted modification: add 1 to the secret's first byte, undetected.
      {
        std::vector<Share> forged = shares;
        const uint64_t li = LagrangeCoeff(shares, t, i, 0);
        forged[i].y[0] = FieldAdd(forged[i].y[0], FieldInv(li));
        auto r = Reconstruct(forged, t);
        INFO(r.status().ToString());
        REQUIRE(r.ok());
        crypto::SecretKey want = secret;
        want.data()[0] = 0x11;
        CHECK(Hex(*r) == Hex(want));
      }
    }
  }
}

TEST_CASE("shamir: Reconstruct checks every extra share, not only the first one", "[shamir]") {
  // shamir.h: "If more are given, the extra shares are checked against the polynomial and
  // a mismatch is an error (a forged or corrupted share), so the result is never
  // silently wrong when shares disagree." Reconstruct only checks shares[threshold].
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(777);
  const uint32_t t = 3;
  crypto::SecretKey secret = RandomSecret(rng);
  secret.data()[0] = 0x10;  // chunk 0 + 1 stays below 2^56
  const auto shares = MustSplit(secret, t, Holders(t + 2, rng));  // t + 2 shares
  RequireReconstructs(shares, t, secret);

  SECTION("a corrupted second extra share is reported") {
    std::vector<Share> forged = shares;
    forged[t + 1].y[1] = FieldAdd(forged[t + 1].y[1], 1);
    auto r = Reconstruct(forged, t);
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kDataLoss);
  }
  SECTION("two colluding forgers cannot silently change the secret while an honest share disagrees") {
    // Forger at index 0 shifts the secret's first byte by one; forger at index t (the
    // only share checked) moves its own share onto the forged polynomial. The honest
    // share at index t + 1 disagrees with that polynomial.
    std::vector<Share> forged = shares;
    const uint64_t delta = FieldInv(LagrangeCoeff(shares, t, 0, 0));  // secret chunk 0 += 1
    forged[0].y[0] = FieldAdd(forged[0].y[0], delta);
    forged[t].y[0] = FieldAdd(forged[t].y[0], FieldMul(LagrangeCoeff(shares, t, 0, shares[t].x), delta));
    // The first t + 1 shares alone are consistent: no check over them can object, and
    // they reconstruct the shifted secret.
    crypto::SecretKey shifted = secret;
    shifted.data()[0] = 0x11;
    RequireReconstructs(std::vector<Share>(forged.begin(), forged.begin() + t + 1), t, shifted);
    auto r = Reconstruct(forged, t);
    INFO("result=" << (r.ok() ? Hex(*r) : r.status().ToString()) << " secret=" << Hex(secret));
    CHECK_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kDataLoss);
  }
}

TEST_CASE("shamir: all-0xFF and all-zero secrets round-trip (chunk boundaries)", "[shamir]") {
  REQUIRE(crypto::Init().ok());
  std::mt19937_64 rng(8);
  crypto::SecretKey counting;
  for (size_t i = 0; i < counting.size(); ++i) counting.data()[i] = static_cast<uint8_t>(i + 1);
  crypto::SecretKey high_last;  // only the last byte set
  high_last.data()[31] = 0x80;
  for (const auto& secret : {Filled(0xFF), Filled(0x00), counting, high_last}) {
    CAPTURE(Hex(secret));
    for (uint32_t t : {1u, 2u, 5u}) {
      CAPTURE(t);
      const auto shares = MustSplit(secret, t, Holders(t + 2, rng));
      RequireReconstructs(shares, t, secret);
      RequireReconstructs(std::vector<Share>(shares.end() - t, shares.end()), t, secret);
    }
    // Threshold 1 is a constant polynomial: each share holds the chunks themselves, which
    // shows the layout 4 chunks of 7 bytes + 1 chunk of 4 bytes.
    const auto plain = MustSplit(secret, 1, {12345});
    for (size_t c = 0; c < kChunks; ++c) CHECK(plain[0].y[c] == ChunkOf(secret, c));
  }
  CHECK(ChunkOf(Filled(0xFF), 0) == (uint64_t{1} << 56) - 1);
  CHECK(ChunkOf(Filled(0xFF), 3) == (uint64_t{1} << 56) - 1);
  CHECK(ChunkOf(Filled(0xFF), 4) == (uint64_t{1} << 32) - 1);
}

TEST_CASE("shamir: a reconstructed chunk outside its byte range is DataLoss", "[shamir]") {
  // With threshold 1 the share value is the chunk itself.
  Share s;
  s.x = 3;
  s.y = {(uint64_t{1} << 56) - 1, 0, 0, 0, (uint64_t{1} << 32) - 1};
  auto ok = Reconstruct({s}, 1);
  REQUIRE(ok.ok());
  CHECK(Hex(*ok) == Hex([] {
          crypto::SecretKey k;
          std::memset(k.data(), 0xFF, 7);
          std::memset(k.data() + 28, 0xFF, 4);
          return k;
        }()));
  for (size_t c = 0; c < kChunks; ++c) {
    CAPTURE(c);
    Share bad = s;
    bad.y[c] = c + 1 < kChunks ? uint64_t{1} << 56 : uint64_t{1} << 32;
    auto r = Reconstruct({bad}, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kDataLoss);
  }
}
