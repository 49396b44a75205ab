// Exact squared Euclidean distance transform of a mask (Felzenszwalb and Huttenlocher).
#include "data/morphology_internal.h"

#include <algorithm>
#include <limits>

namespace fl::data::morphology_internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Lower envelope of the parabolas (q - v)^2 + f(v) over the finite samples of one line:
// out[q] = min_v (q - v)^2 + f(v), +inf when every sample is infinite.
class Envelope1D {
 public:
  void Run(const double* f, double* out, int64_t n) {
    v_.resize(static_cast<size_t>(n));
    z_.resize(static_cast<size_t>(n) + 1);
    int64_t k = -1;
    for (int64_t q = 0; q < n; ++q) {
      if (f[q] == kInf) continue;
      const double fq = f[q] + static_cast<double>(q) * static_cast<double>(q);
      if (k < 0) {
        k = 0;
        v_[0] = q;
        z_[0] = -kInf;
        z_[1] = kInf;
        continue;
      }
      double s = 0;
      while (true) {
        const int64_t p = v_[static_cast<size_t>(k)];
        s = (fq - (f[p] + static_cast<double>(p) * static_cast<double>(p))) /
            (2.0 * static_cast<double>(q - p));
        if (s > z_[static_cast<size_t>(k)] || k == 0) break;
        --k;
      }
      // With z_[0] = -inf the loop stops at k = 0 with s > z_[0] unless s is -inf.
      if (s <= z_[static_cast<size_t>(k)]) {
        v_[static_cast<size_t>(k)] = q;  // unreachable for finite inputs; kept for safety
        z_[static_cast<size_t>(k) + 1] = kInf;
        continue;
      }
      ++k;
      v_[static_cast<size_t>(k)] = q;
      z_[static_cast<size_t>(k)] = s;
      z_[static_cast<size_t>(k) + 1] = kInf;
    }
    if (k < 0) {
      std::fill(out, out + n, kInf);
      return;
    }
    int64_t j = 0;
    for (int64_t q = 0; q < n; ++q) {
      while (z_[static_cast<size_t>(j) + 1] < static_cast<double>(q)) ++j;
      const int64_t p = v_[static_cast<size_t>(j)];
      const double d = static_cast<double>(q - p);
      out[q] = d * d + f[p];
    }
  }

 private:
  std::vector<int64_t> v_;
  std::vector<double> z_;
};

}  // namespace

// Squared Euclidean distance from every voxel to the nearest voxel where `target(mask[i])`
// holds, +inf when there is none.
std::vector<double> SquaredDistance(const std::vector<uint8_t>& mask, const Shape& s, bool (*target)(uint8_t)) {
  std::vector<double> d(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) d[i] = target(mask[i]) ? 0.0 : kInf;
  const int64_t lens[3] = {s.nx, s.ny, s.nz};
  const int64_t strides[3] = {1, s.nx, s.nx * s.ny};
  Envelope1D env;
  std::vector<double> in, out;
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t n = lens[axis], stride = strides[axis];
    if (n == 1) continue;
    in.resize(static_cast<size_t>(n));
    out.resize(static_cast<size_t>(n));
    const int64_t lines = static_cast<int64_t>(mask.size()) / n;
    for (int64_t line = 0; line < lines; ++line) {
      // Start of the line-th line along `axis`: split line into (outer, inner) around it.
      const int64_t inner = line % stride, outer = line / stride;
      const int64_t base = outer * stride * n + inner;
      bool any = false;
      for (int64_t q = 0; q < n; ++q) {
        in[q] = d[static_cast<size_t>(base + q * stride)];
        any = any || in[q] != kInf;
      }
      if (!any) continue;
      env.Run(in.data(), out.data(), n);
      for (int64_t q = 0; q < n; ++q) d[static_cast<size_t>(base + q * stride)] = out[q];
    }
  }
  return d;
}

}  // namespace fl::data::morphology_internal
