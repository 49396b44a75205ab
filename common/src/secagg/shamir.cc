#include "fl/secagg/shamir.h"

#include <sodium.h>

#include <cstring>
#include <set>

namespace fl::secagg {
namespace {

uint64_t Reduce(unsigned __int128 v) {
  // p = 2^61 - 1: v mod p = (v & p) + (v >> 61), folded twice.
  uint64_t lo = static_cast<uint64_t>(v & kFieldPrime);
  uint64_t hi = static_cast<uint64_t>(v >> 61);
  uint64_t r = lo + (hi & kFieldPrime) + static_cast<uint64_t>(hi >> 61);
  r = (r & kFieldPrime) + (r >> 61);
  return r >= kFieldPrime ? r - kFieldPrime : r;
}

uint64_t RandomElement() {
  uint64_t v;
  do {
    randombytes_buf(&v, sizeof v);
    v &= kFieldPrime;  // 61 bits
  } while (v >= kFieldPrime);
  return v;
}

// Chunk c of the secret: bytes [7c, 7c + 7) (the last chunk has 4 bytes).
uint64_t Chunk(const crypto::SecretKey& s, size_t c) {
  uint64_t v = 0;
  const size_t begin = 7 * c;
  const size_t len = std::min<size_t>(7, crypto::kKeyBytes - begin);
  std::memcpy(&v, s.data() + begin, len);
  return v;
}

uint64_t Evaluate(const std::vector<uint64_t>& coeffs, uint64_t x) {
  uint64_t acc = 0;
  for (size_t i = coeffs.size(); i-- > 0;) acc = FieldAdd(FieldMul(acc, x), coeffs[i]);
  return acc;
}

}  // namespace

uint64_t FieldMul(uint64_t a, uint64_t b) { return Reduce(static_cast<unsigned __int128>(a) * b); }
uint64_t FieldAdd(uint64_t a, uint64_t b) {
  uint64_t r = a + b;
  return r >= kFieldPrime ? r - kFieldPrime : r;
}
uint64_t FieldSub(uint64_t a, uint64_t b) { return a >= b ? a - b : a + kFieldPrime - b; }
uint64_t FieldInv(uint64_t a) {
  // a^(p-2) by square-and-multiply.
  uint64_t result = 1, base = a, e = kFieldPrime - 2;
  while (e) {
    if (e & 1) result = FieldMul(result, base);
    base = FieldMul(base, base);
    e >>= 1;
  }
  return result;
}

std::string Share::Encode() const {
  std::string out(kShareBytes, '\0');
  for (size_t c = 0; c < kChunks; ++c) std::memcpy(out.data() + 8 * c, &y[c], 8);
  return out;
}

StatusOr<Share> Share::Decode(uint32_t x, const std::string& bytes) {
  if (bytes.size() != kShareBytes) return InvalidArgument("share of " + std::to_string(bytes.size()) + " bytes");
  if (x == 0) return InvalidArgument("share with x = 0");
  Share s;
  s.x = x;
  for (size_t c = 0; c < kChunks; ++c) {
    std::memcpy(&s.y[c], bytes.data() + 8 * c, 8);
    if (s.y[c] >= kFieldPrime) return InvalidArgument("share element outside the field");
  }
  return s;
}

StatusOr<std::vector<Share>> Split(const crypto::SecretKey& secret, uint32_t threshold,
                                   const std::vector<uint32_t>& holders) {
  if (threshold < 1) return InvalidArgument("threshold must be at least 1");
  if (holders.size() < threshold) return InvalidArgument("fewer holders than the threshold");
  std::set<uint32_t> seen;
  for (uint32_t x : holders) {
    if (x == 0 || !seen.insert(x).second) return InvalidArgument("share holders must be distinct and non-zero");
  }
  std::vector<Share> shares(holders.size());
  for (size_t i = 0; i < holders.size(); ++i) shares[i].x = holders[i];
  std::vector<uint64_t> coeffs(threshold);
  for (size_t c = 0; c < kChunks; ++c) {
    coeffs[0] = Chunk(secret, c);
    for (uint32_t j = 1; j < threshold; ++j) coeffs[j] = RandomElement();
    for (auto& s : shares) s.y[c] = Evaluate(coeffs, s.x);
  }
  sodium_memzero(coeffs.data(), coeffs.size() * sizeof(uint64_t));
  return shares;
}

StatusOr<crypto::SecretKey> Reconstruct(const std::vector<Share>& shares, uint32_t threshold) {
  if (threshold < 1) return InvalidArgument("threshold must be at least 1");
  if (shares.size() < threshold) {
    return FailedPrecondition("only " + std::to_string(shares.size()) + " shares, " + std::to_string(threshold) +
                              " needed");
  }
  std::set<uint32_t> xs;
  for (const auto& s : shares) {
    if (s.x == 0 || !xs.insert(s.x).second) return InvalidArgument("shares must have distinct non-zero x");
  }
  // Lagrange basis at 0 over the first `threshold` shares.
  const size_t t = threshold;
  std::vector<uint64_t> basis(t);
  for (size_t i = 0; i < t; ++i) {
    uint64_t num = 1, den = 1;
    for (size_t j = 0; j < t; ++j) {
      if (i == j) continue;
      num = FieldMul(num, shares[j].x);
      den = FieldMul(den, FieldSub(shares[j].x, shares[i].x));
    }
    basis[i] = FieldMul(num, FieldInv(den));
  }
  // One extra share, if given, is checked against the interpolating polynomial: a forged
  // or corrupted share among the first `threshold` makes an honest extra share disagree.
  const bool check = shares.size() > t;
  std::vector<uint64_t> check_basis(check ? t : 0);
  if (check) {
    const uint64_t xe = shares[t].x;
    for (size_t i = 0; i < t; ++i) {
      uint64_t num = 1, den = 1;
      for (size_t j = 0; j < t; ++j) {
        if (i == j) continue;
        num = FieldMul(num, FieldSub(xe, shares[j].x));
        den = FieldMul(den, FieldSub(shares[i].x, shares[j].x));
      }
      check_basis[i] = FieldMul(num, FieldInv(den));
    }
  }
  crypto::SecretKey out;
  for (size_t c = 0; c < kChunks; ++c) {
    uint64_t v = 0, at = 0;
    for (size_t i = 0; i < t; ++i) {
      v = FieldAdd(v, FieldMul(basis[i], shares[i].y[c]));
      if (check) at = FieldAdd(at, FieldMul(check_basis[i], shares[i].y[c]));
    }
    if (check && at != shares[t].y[c]) return DataLoss("inconsistent shares (a share is forged or corrupted)");
    if (v >> (c + 1 < kChunks ? 56 : 32)) return DataLoss("reconstructed chunk out of range (inconsistent shares)");
    const size_t len = std::min<size_t>(7, crypto::kKeyBytes - 7 * c);
    std::memcpy(out.data() + 7 * c, &v, len);
  }
  return out;
}

}  // namespace fl::secagg
