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

void BatchInvert(std::vector<uint64_t>* v) {
  // Montgomery's trick: one inversion and 3(n - 1) multiplications.
  std::vector<uint64_t>& a = *v;
  if (a.empty()) return;
  std::vector<uint64_t> prefix(a.size());
  uint64_t acc = 1;
  for (size_t i = 0; i < a.size(); ++i) {
    prefix[i] = acc;
    acc = FieldMul(acc, a[i]);
  }
  uint64_t inv = FieldInv(acc);
  for (size_t i = a.size(); i-- > 0;) {
    const uint64_t ai = a[i];
    a[i] = FieldMul(inv, prefix[i]);
    inv = FieldMul(inv, ai);
  }
}

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
  std::vector<uint64_t> basis(t), num(t);
  for (size_t i = 0; i < t; ++i) {
    uint64_t n = 1, den = 1;
    for (size_t j = 0; j < t; ++j) {
      if (i == j) continue;
      n = FieldMul(n, shares[j].x);
      den = FieldMul(den, FieldSub(shares[j].x, shares[i].x));
    }
    num[i] = n;
    basis[i] = den;
  }
  BatchInvert(&basis);
  for (size_t i = 0; i < t; ++i) basis[i] = FieldMul(basis[i], num[i]);
  // Every extra share is checked against the interpolating polynomial: a forged or
  // corrupted share makes some share disagree unless all the extra ones collude.
  // Barycentric form: p(x) = l(x) * sum_i w_i y_i / (x - x_i), l(x) = prod_i (x - x_i),
  // w_i = 1 / prod_{j != i} (x_i - x_j); one batched inversion per extra share.
  const size_t extra = shares.size() - t;
  std::vector<std::vector<uint64_t>> check_basis(extra, std::vector<uint64_t>(t));
  if (extra > 0) {
    std::vector<uint64_t> w(t);
    for (size_t i = 0; i < t; ++i) {
      uint64_t den = 1;
      for (size_t j = 0; j < t; ++j) {
        if (i != j) den = FieldMul(den, FieldSub(shares[i].x, shares[j].x));
      }
      w[i] = den;
    }
    BatchInvert(&w);
    std::vector<uint64_t> diff(t);
    for (size_t e = 0; e < extra; ++e) {
      const uint64_t xe = shares[t + e].x;
      uint64_t l = 1;
      for (size_t i = 0; i < t; ++i) {
        diff[i] = FieldSub(xe, shares[i].x);  // non-zero: x values are distinct
        l = FieldMul(l, diff[i]);
      }
      BatchInvert(&diff);
      for (size_t i = 0; i < t; ++i) check_basis[e][i] = FieldMul(l, FieldMul(w[i], diff[i]));
    }
  }
  crypto::SecretKey out;
  for (size_t c = 0; c < kChunks; ++c) {
    uint64_t v = 0;
    for (size_t i = 0; i < t; ++i) v = FieldAdd(v, FieldMul(basis[i], shares[i].y[c]));
    for (size_t e = 0; e < extra; ++e) {
      uint64_t at = 0;
      for (size_t i = 0; i < t; ++i) at = FieldAdd(at, FieldMul(check_basis[e][i], shares[i].y[c]));
      if (at != shares[t + e].y[c]) return DataLoss("inconsistent shares (a share is forged or corrupted)");
    }
    if (v >> (c + 1 < kChunks ? 56 : 32)) return DataLoss("reconstructed chunk out of range (inconsistent shares)");
    const size_t len = std::min<size_t>(7, crypto::kKeyBytes - 7 * c);
    std::memcpy(out.data() + 7 * c, &v, len);
  }
  return out;
}

}  // namespace fl::secagg
