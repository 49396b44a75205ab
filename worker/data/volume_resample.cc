// Resampling and cropping of volumes with their NIfTI geometry (ResampleToSpacing, CropOrPad).
#include "data/volume.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "data/volume_internal.h"

namespace fl::data {
namespace {

using volume_internal::CheckDims;
using volume_internal::Num;

// 3x3 rotation of the qform quaternion (b, c, d), as the NIfTI-1 standard defines it.
void QuaternionToRotation(double b, double c, double d, double r[3][3]) {
  double a = 1.0 - (b * b + c * c + d * d);
  if (a < 1e-7) {  // 180-degree rotation: renormalise (b, c, d) and take a = 0
    const double norm = std::sqrt(b * b + c * c + d * d);
    if (norm > 0) b /= norm, c /= norm, d /= norm;
    a = 0;
  } else {
    a = std::sqrt(a);
  }
  r[0][0] = a * a + b * b - c * c - d * d;
  r[0][1] = 2 * b * c - 2 * a * d;
  r[0][2] = 2 * b * d + 2 * a * c;
  r[1][0] = 2 * b * c + 2 * a * d;
  r[1][1] = a * a + c * c - b * b - d * d;
  r[1][2] = 2 * c * d - 2 * a * b;
  r[2][0] = 2 * b * d - 2 * a * c;
  r[2][1] = 2 * c * d + 2 * a * b;
  r[2][2] = a * a + d * d - c * c - b * b;
}

// Re-expresses the geometry of `g` (voxel sizes `old_spacing`) for a grid whose voxel
// (0,0,0) lies at old voxel coordinate `origin` and whose step along axis k is scale[k] old
// voxels. Both the qform and the sform are updated so that either one keeps placing every
// voxel at the same physical position.
void ReGrid(NiftiGeometry& g, const std::array<double, 3>& old_spacing,
            const std::array<double, 3>& origin, const std::array<double, 3>& scale) {
  double r[3][3];
  QuaternionToRotation(g.quatern_b, g.quatern_c, g.quatern_d, r);
  const double qfac = g.qfac < 0 ? -1.0 : 1.0;
  double shift[3] = {0, 0, 0};
  for (int row = 0; row < 3; ++row) {
    for (int k = 0; k < 3; ++k) {
      const double col = r[row][k] * old_spacing[k] * (k == 2 ? qfac : 1.0);
      shift[row] += col * origin[k];
    }
  }
  g.qoffset_x = static_cast<float>(g.qoffset_x + shift[0]);
  g.qoffset_y = static_cast<float>(g.qoffset_y + shift[1]);
  g.qoffset_z = static_cast<float>(g.qoffset_z + shift[2]);

  for (std::array<float, 4>* srow : {&g.srow_x, &g.srow_y, &g.srow_z}) {
    double offset = (*srow)[3];
    for (int k = 0; k < 3; ++k) offset += (*srow)[k] * origin[k];
    (*srow)[3] = static_cast<float>(offset);
    for (int k = 0; k < 3; ++k) (*srow)[k] = static_cast<float>((*srow)[k] * scale[k]);
  }
  for (int k = 0; k < 3; ++k) g.pixdim[k + 1] = static_cast<float>(old_spacing[k] * scale[k]);
}

// Source positions and weights along one axis for linear resampling.
struct Taps {
  std::vector<int64_t> lo, hi;
  std::vector<double> w;  // weight of hi
};

Taps AxisTaps(int64_t n_out, int64_t n_in, double ratio, bool nearest) {
  Taps t;
  t.lo.resize(n_out);
  t.hi.resize(n_out);
  t.w.resize(n_out);
  for (int64_t i = 0; i < n_out; ++i) {
    double c = (static_cast<double>(i) + 0.5) * ratio - 0.5;
    c = std::clamp(c, 0.0, static_cast<double>(n_in - 1));
    if (nearest) {
      const int64_t k = std::min<int64_t>(static_cast<int64_t>(std::floor(c + 0.5)), n_in - 1);
      t.lo[i] = t.hi[i] = k;
      t.w[i] = 0;
    } else {
      const int64_t k = std::min<int64_t>(static_cast<int64_t>(std::floor(c)), n_in - 1);
      t.lo[i] = k;
      t.hi[i] = std::min<int64_t>(k + 1, n_in - 1);
      t.w[i] = c - static_cast<double>(k);
    }
  }
  return t;
}

}  // namespace

StatusOr<Volume> ResampleToSpacing(const Volume& v, std::array<double, 3> spacing, Interp interp) {
  FL_RETURN_IF_ERROR(CheckVolume(v, "resample"));
  std::array<int64_t, 3> out_dims{};
  std::array<double, 3> ratio{};
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(spacing[a]) || spacing[a] <= 0) {
      return InvalidArgument("resample: target spacing (" + Num(spacing[0]) + ", " +
                             Num(spacing[1]) + ", " + Num(spacing[2]) +
                             ") must be positive and finite");
    }
    ratio[a] = spacing[a] / v.spacing[a];
    const double d = std::round(static_cast<double>(v.dims[a]) / ratio[a]);
    if (!(d <= 32767.0)) {
      return InvalidArgument("resample: spacing " + Num(spacing[a]) + " gives too many voxels");
    }
    out_dims[a] = std::max<int64_t>(1, static_cast<int64_t>(d));
  }
  FL_RETURN_IF_ERROR(CheckDims(out_dims, "resample output"));

  Volume out;
  out.dims = out_dims;
  out.spacing = spacing;
  out.geometry = v.geometry;
  std::array<double, 3> origin{};
  for (int a = 0; a < 3; ++a) origin[a] = 0.5 * ratio[a] - 0.5;
  ReGrid(out.geometry, v.spacing, origin, ratio);

  const bool nearest = interp == Interp::kNearest;
  const Taps tx = AxisTaps(out_dims[0], v.dims[0], ratio[0], nearest);
  const Taps ty = AxisTaps(out_dims[1], v.dims[1], ratio[1], nearest);
  const Taps tz = AxisTaps(out_dims[2], v.dims[2], ratio[2], nearest);
  try {
    out.data.resize(static_cast<size_t>(out.NumVoxels()));
  } catch (const std::bad_alloc&) {
    return Internal("resample: out of memory for " + DimsString(out_dims));
  }
  const int64_t nx = v.dims[0], nxy = v.dims[0] * v.dims[1];
  size_t o = 0;
  for (int64_t z = 0; z < out_dims[2]; ++z) {
    for (int64_t y = 0; y < out_dims[1]; ++y) {
      const int64_t r00 = ty.lo[y] * nx + tz.lo[z] * nxy, r01 = ty.hi[y] * nx + tz.lo[z] * nxy;
      const int64_t r10 = ty.lo[y] * nx + tz.hi[z] * nxy, r11 = ty.hi[y] * nx + tz.hi[z] * nxy;
      const double wy = ty.w[y], wz = tz.w[z];
      for (int64_t x = 0; x < out_dims[0]; ++x, ++o) {
        const int64_t x0 = tx.lo[x], x1 = tx.hi[x];
        if (nearest) {
          out.data[o] = v.data[static_cast<size_t>(r00 + x0)];
          continue;
        }
        const double wx = tx.w[x];
        auto lerp_x = [&](int64_t row) {
          return (1 - wx) * v.data[static_cast<size_t>(row + x0)] + wx * v.data[static_cast<size_t>(row + x1)];
        };
        const double a = (1 - wy) * lerp_x(r00) + wy * lerp_x(r01);
        const double b = (1 - wy) * lerp_x(r10) + wy * lerp_x(r11);
        out.data[o] = static_cast<float>((1 - wz) * a + wz * b);
      }
    }
  }
  return out;
}

StatusOr<Volume> CropOrPad(const Volume& v, std::array<int64_t, 3> dims,
                           std::array<int64_t, 3> centre, float fill) {
  FL_RETURN_IF_ERROR(CheckVolume(v, "crop"));
  FL_RETURN_IF_ERROR(CheckDims(dims, "crop output"));
  std::array<int64_t, 3> start{};
  std::array<double, 3> origin{};
  for (int a = 0; a < 3; ++a) {
    // Keep the arithmetic far from overflow whatever the caller passes as centre.
    const int64_t c = std::clamp<int64_t>(centre[a], -(int64_t{1} << 40), int64_t{1} << 40);
    start[a] = c - dims[a] / 2;
    origin[a] = static_cast<double>(start[a]);
  }
  Volume out;
  out.dims = dims;
  out.spacing = v.spacing;
  out.geometry = v.geometry;
  ReGrid(out.geometry, v.spacing, origin, {1.0, 1.0, 1.0});
  try {
    out.data.assign(static_cast<size_t>(out.NumVoxels()), fill);
  } catch (const std::bad_alloc&) {
    return Internal("crop: out of memory for " + DimsString(dims));
  }
  // Copy the overlap row by row.
  const int64_t x_lo = std::max<int64_t>(0, -start[0]);
  const int64_t x_hi = std::min<int64_t>(dims[0], v.dims[0] - start[0]);
  if (x_lo >= x_hi) return out;
  for (int64_t z = 0; z < dims[2]; ++z) {
    const int64_t sz = start[2] + z;
    if (sz < 0 || sz >= v.dims[2]) continue;
    for (int64_t y = 0; y < dims[1]; ++y) {
      const int64_t sy = start[1] + y;
      if (sy < 0 || sy >= v.dims[1]) continue;
      std::copy_n(&v.data[v.Index(start[0] + x_lo, sy, sz)], x_hi - x_lo, &out.data[out.Index(x_lo, y, z)]);
    }
  }
  return out;
}

}  // namespace fl::data
