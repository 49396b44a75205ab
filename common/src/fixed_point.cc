#include "fl/fixed_point.h"

#include <cmath>
#include <string>

#include "fl/crypto.h"

namespace fl {

Status FixedPointParams::Validate() const {
  if (ring_bits != 32) return InvalidArgument("ring_bits must be 32, got " + std::to_string(ring_bits));
  if (!(clip > 0.0) || !std::isfinite(clip)) return InvalidArgument("clip must be a finite number > 0");
  if (max_total_weight == 0 || max_total_weight > (1ull << 30)) {
    return InvalidArgument("max_total_weight must be in [1, 2^30]");
  }
  if (max_cohort == 0 || max_cohort > (1u << 20)) return InvalidArgument("max_cohort must be in [1, 2^20]");
  // A clip so small (1e-300) that weight * scale overflows to infinity would make an
  // encoded zero NaN (0 * inf) and every other coordinate infinite.
  if (!std::isfinite(Scale() * static_cast<double>(max_total_weight))) {
    return InvalidArgument("clip is too small for fixed-point encoding");
  }
  if (Scale() < 1.0) {
    return InvalidArgument("no precision left: max_total_weight * clip must be below 2^31 - max_cohort");
  }
  return Status::Ok();
}

double FixedPointParams::Scale() const {
  const double headroom = 2147483647.0 - static_cast<double>(max_cohort);
  return headroom / (static_cast<double>(max_total_weight) * clip);
}

double FixedPointParams::DecodeErrorBound(uint32_t cohort, uint64_t total_weight) const {
  // Each worker's stochastic rounding moves its term by less than one unit.
  return static_cast<double>(cohort) / (Scale() * static_cast<double>(total_weight));
}

Status EncodeWeighted(const float* x, size_t d, uint64_t weight, const FixedPointParams& p,
                      RingVector* out, EncodeStats* stats) {
  FL_RETURN_IF_ERROR(p.Validate());
  if (weight == 0 || weight > p.max_total_weight) {
    return OutOfRange("sample count " + std::to_string(weight) + " outside [1, max_total_weight=" +
                      std::to_string(p.max_total_weight) + "]");
  }
  *out = RingVector(d + 1);
  const double factor = static_cast<double>(weight) * p.Scale();
  const double clip = p.clip;
  const crypto::SecretKey rounding_key = crypto::RandomKey();
  constexpr size_t kChunk = 4096;
  uint32_t rnd[kChunk];
  size_t clipped = 0;
  uint32_t* o = out->data();
  for (size_t off = 0; off < d; off += kChunk) {
    const size_t len = std::min(kChunk, d - off);
    crypto::ChaCha20Words(rounding_key, off / 16, rnd, len);
    for (size_t j = 0; j < len; ++j) {
      double v = x[off + j];
      if (!std::isfinite(v)) {
        return InvalidArgument("update coordinate " + std::to_string(off + j) + " is not finite");
      }
      if (v > clip) { v = clip; ++clipped; }
      else if (v < -clip) { v = -clip; ++clipped; }
      const double scaled = v * factor;
      const double fl = std::floor(scaled);
      const double frac = scaled - fl;  // in [0, 1)
      const int64_t q = static_cast<int64_t>(fl) + (rnd[j] < frac * 4294967296.0 ? 1 : 0);
      o[off + j] = static_cast<uint32_t>(static_cast<int32_t>(q));
    }
  }
  o[d] = static_cast<uint32_t>(weight);
  if (stats) stats->clipped = clipped;
  return Status::Ok();
}

StatusOr<DecodedAverage> DecodeWeightedSum(const RingVector& sum, const FixedPointParams& p) {
  FL_RETURN_IF_ERROR(p.Validate());
  if (sum.size() < 1) return InvalidArgument("empty sum vector");
  const size_t d = sum.size() - 1;
  DecodedAverage r;
  r.total_weight = sum[d];
  if (r.total_weight == 0 || r.total_weight > p.max_total_weight) {
    return OutOfRange("summed weight " + std::to_string(r.total_weight) +
                      " outside [1, max_total_weight]; the cohort broke the headroom bound");
  }
  const double inv = 1.0 / (p.Scale() * static_cast<double>(r.total_weight));
  r.average.resize(d);
  for (size_t i = 0; i < d; ++i) r.average[i] = static_cast<int32_t>(sum[i]) * inv;
  return r;
}

}  // namespace fl
