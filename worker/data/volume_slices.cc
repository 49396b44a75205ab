// Volumes to the 2-D slice datasets of segmentation and back (VolumesToSlices, SlicesToVolume).
#include "data/volume.h"

#include <cmath>
#include <new>
#include <string>

#include "data/volume_internal.h"

namespace fl::data {
namespace {

using volume_internal::CheckDims;
using volume_internal::Num;

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
