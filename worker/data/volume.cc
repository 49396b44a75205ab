#include "data/volume.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <sstream>
#include <string>

namespace fl::data {
namespace {

constexpr int64_t kMaxVoxels = int64_t{1} << 31;

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

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

Status CheckDims(const std::array<int64_t, 3>& dims, const std::string& what) {
  for (int64_t d : dims) {
    if (d < 1 || d > 32767) {
      return InvalidArgument(what + ": dimensions " + DimsString(dims) + " must each be in [1, 32767]");
    }
  }
  if (dims[0] * dims[1] * dims[2] > kMaxVoxels) {
    return InvalidArgument(what + ": dimensions " + DimsString(dims) + " are too large");
  }
  return Status::Ok();
}

// Slice geometry of VolumesToSlices: slice t, row r, column c -> voxel (x, y, z).
struct SliceLayout {
  int axis;
  int64_t n, h, w;  // slices, rows, columns
  std::array<int64_t, 3> dims;

  static SliceLayout For(const std::array<int64_t, 3>& dims, int axis) {
    SliceLayout l{axis, dims[axis], 0, 0, dims};
    if (axis == 2) l.h = dims[1], l.w = dims[0];
    if (axis == 1) l.h = dims[2], l.w = dims[0];
    if (axis == 0) l.h = dims[2], l.w = dims[1];
    return l;
  }
  size_t Voxel(int64_t t, int64_t r, int64_t c) const {
    int64_t x = c, y = r, z = t;
    if (axis == 1) x = c, y = t, z = r;
    if (axis == 0) x = t, y = c, z = r;
    return static_cast<size_t>(x + dims[0] * (y + dims[1] * z));
  }
};

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

std::array<int64_t, 3> CentreOf(const Volume& v) {
  return {v.dims[0] / 2, v.dims[1] / 2, v.dims[2] / 2};
}

std::array<int64_t, 3> ForegroundCentre(const Volume& label) {
  std::array<int64_t, 3> lo{label.dims}, hi{-1, -1, -1};
  if (label.dims[0] < 1 || label.dims[1] < 1 || label.dims[2] < 1 ||
      label.data.size() != static_cast<size_t>(label.NumVoxels())) {
    return CentreOf(label);
  }
  size_t i = 0;
  for (int64_t z = 0; z < label.dims[2]; ++z) {
    for (int64_t y = 0; y < label.dims[1]; ++y) {
      for (int64_t x = 0; x < label.dims[0]; ++x, ++i) {
        if (label.data[i] == 0) continue;
        const int64_t p[3] = {x, y, z};
        for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a]);
      }
    }
  }
  if (hi[0] < 0) return CentreOf(label);
  return {(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2};
}

void ZScore(std::vector<float>& values, const std::vector<uint8_t>* mask) {
  if (mask && mask->size() != values.size()) return;
  double sum = 0;
  size_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (mask && (*mask)[i] == 0) continue;
    sum += values[i];
    ++count;
  }
  if (count == 0) return;
  const double mean = sum / static_cast<double>(count);
  double ss = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    if (mask && (*mask)[i] == 0) continue;
    const double d = values[i] - mean;
    ss += d * d;
  }
  const double sd = std::sqrt(ss / static_cast<double>(count));
  const double inv = sd < 1e-8 ? 1.0 : 1.0 / sd;
  for (float& x : values) x = static_cast<float>((x - mean) * inv);
}

StatusOr<Dataset> VolumesToSlices(const std::vector<Volume>& images,
                                  const std::vector<Volume>& labels, int axis, int64_t stride,
                                  int num_classes) {
  if (labels.size() != images.size()) {
    return InvalidArgument("slices: " + std::to_string(images.size()) + " images but " +
                           std::to_string(labels.size()) + " label volumes");
  }
  if (axis < 0 || axis > 2) return InvalidArgument("slices: axis " + std::to_string(axis) + " is not 0, 1 or 2");
  if (stride < 1) return InvalidArgument("slices: stride " + std::to_string(stride) + " must be >= 1");
  if (num_classes < 1 || num_classes > 256) {
    return InvalidArgument("slices: num_classes " + std::to_string(num_classes) + " must be in [1, 256]");
  }
  Dataset d;
  d.num_classes = num_classes;
  int64_t h = -1, w = -1;
  size_t total = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const std::string what = "slices: volume " + std::to_string(i);
    FL_RETURN_IF_ERROR(CheckVolume(images[i], what + " image"));
    FL_RETURN_IF_ERROR(CheckVolume(labels[i], what + " label"));
    if (images[i].dims != labels[i].dims) {
      return InvalidArgument(what + ": image dimensions " + DimsString(images[i].dims) +
                             " differ from label dimensions " + DimsString(labels[i].dims));
    }
    const SliceLayout l = SliceLayout::For(images[i].dims, axis);
    if (h >= 0 && (l.h != h || l.w != w)) {
      return InvalidArgument(what + ": slices of " + std::to_string(l.h) + "x" + std::to_string(l.w) +
                             " differ from earlier volumes' " + std::to_string(h) + "x" +
                             std::to_string(w) + " (crop or pad volumes to one size first)");
    }
    h = l.h, w = l.w;
    total += static_cast<size_t>((l.n + stride - 1) / stride);
  }
  if (h < 0) h = w = 0;
  d.sample_shape = {1, h, w};
  d.mask_shape = {h, w};
  const size_t hw = static_cast<size_t>(h * w);
  try {
    d.features.resize(total * hw);
    d.masks.resize(total * hw);
    d.labels.reserve(total);
    d.cases.reserve(total);
  } catch (const std::bad_alloc&) {
    return Internal("slices: out of memory for " + std::to_string(total) + " slices");
  }
  size_t s = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const SliceLayout l = SliceLayout::For(images[i].dims, axis);
    for (int64_t t = 0; t < l.n; t += stride, ++s) {
      float* f = &d.features[s * hw];
      uint8_t* m = &d.masks[s * hw];
      bool any = false;
      for (int64_t r = 0; r < h; ++r) {
        for (int64_t c = 0; c < w; ++c) {
          const size_t vox = l.Voxel(t, r, c);
          const float value = labels[i].data[vox];
          const float k = std::round(value);
          if (!(k >= 0 && k < static_cast<float>(num_classes) && std::fabs(value - k) <= 1e-3f)) {
            const int64_t x = static_cast<int64_t>(vox) % l.dims[0];
            const int64_t y = static_cast<int64_t>(vox) / l.dims[0] % l.dims[1];
            const int64_t z = static_cast<int64_t>(vox) / (l.dims[0] * l.dims[1]);
            return InvalidArgument("slices: label volume " + std::to_string(i) + " has value " +
                                   Num(value) + " at voxel " + DimsString({x, y, z}) +
                                   ", not a class in [0, " + std::to_string(num_classes) + ")");
          }
          *f++ = images[i].data[vox];
          *m = static_cast<uint8_t>(k);
          any = any || *m != 0;
          ++m;
        }
      }
      d.labels.push_back(any ? 1 : 0);
      d.cases.push_back(static_cast<int32_t>(i));
    }
  }
  return d;
}

StatusOr<Volume> SlicesToVolume(const Volume& like, const std::vector<uint8_t>& masks, int axis) {
  if (axis < 0 || axis > 2) return InvalidArgument("volume from slices: axis " + std::to_string(axis) + " is not 0, 1 or 2");
  FL_RETURN_IF_ERROR(CheckDims(like.dims, "volume from slices"));
  Volume out;
  out.dims = like.dims;
  out.spacing = like.spacing;
  out.geometry = like.geometry;
  const size_t n = static_cast<size_t>(out.NumVoxels());
  if (masks.size() != n) {
    return InvalidArgument("volume from slices: " + std::to_string(masks.size()) +
                           " mask values for a volume of " + DimsString(like.dims) + " (" +
                           std::to_string(n) + " voxels)");
  }
  try {
    out.data.resize(n);
  } catch (const std::bad_alloc&) {
    return Internal("volume from slices: out of memory");
  }
  const SliceLayout l = SliceLayout::For(like.dims, axis);
  size_t s = 0;
  for (int64_t t = 0; t < l.n; ++t) {
    for (int64_t r = 0; r < l.h; ++r) {
      for (int64_t c = 0; c < l.w; ++c) out.data[l.Voxel(t, r, c)] = masks[s++];
    }
  }
  return out;
}

}  // namespace fl::data
