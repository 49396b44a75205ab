// Shamir secret sharing of 32-byte secrets over the prime field GF(2^61 - 1).
//
// A secret is cut into five chunks of at most 7 bytes (56 bits < 61 bits); each chunk is
// shared with its own random polynomial of degree t - 1, so a share is five field
// elements (40 bytes). Share x-coordinates are worker ids (1 <= id < 2^61 - 1), so any
// cohort this product supports fits (GF(256) would stop at 255 shares).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fl/crypto.h"
#include "fl/status.h"

namespace fl::secagg {

constexpr uint64_t kFieldPrime = (uint64_t{1} << 61) - 1;
constexpr size_t kChunks = 5;
constexpr size_t kShareBytes = kChunks * 8;

struct Share {
  uint32_t x = 0;                        // the holder's worker id
  std::array<uint64_t, kChunks> y{};     // one field element per chunk
  std::string Encode() const;            // kShareBytes, little-endian
  static StatusOr<Share> Decode(uint32_t x, const std::string& bytes);
};

// Splits `secret` into one share per x in `holders` (distinct, non-zero); any `threshold`
// of them reconstruct it, fewer reveal nothing. Randomness from libsodium.
StatusOr<std::vector<Share>> Split(const crypto::SecretKey& secret, uint32_t threshold,
                                   const std::vector<uint32_t>& holders);

// Reconstructs from at least `threshold` shares with distinct x. If more are given, every
// extra share is checked against the polynomial and a mismatch is an error (a forged or
// corrupted share), so the result is never silently wrong when shares disagree.
StatusOr<crypto::SecretKey> Reconstruct(const std::vector<Share>& shares, uint32_t threshold);

// Field helpers (exposed for tests).
uint64_t FieldMul(uint64_t a, uint64_t b);
uint64_t FieldAdd(uint64_t a, uint64_t b);
uint64_t FieldSub(uint64_t a, uint64_t b);
uint64_t FieldInv(uint64_t a);
// Inverts every (non-zero) element in place with a single field inversion.
void BatchInvert(std::vector<uint64_t>* values);

}  // namespace fl::secagg
