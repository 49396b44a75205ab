// Morphology through exact squared Euclidean distance transforms (Felzenszwalb and
// Huttenlocher, "Distance Transforms of Sampled Functions", 2012): a voxel is within the
// dilation by the ball of radius r iff its squared distance to the nearest foreground voxel
// is <= r^2, and within the erosion iff its squared distance to the nearest in-image
// background voxel is > r^2. Both are linear in the number of voxels, whatever r.
#include "data/morphology.h"

#include <new>
#include <string>

#include "data/morphology_internal.h"

namespace fl::data {
namespace morphology_internal {

StatusOr<Shape> CheckShape(const std::vector<uint8_t>& mask, const std::vector<int64_t>& dims,
                           const char* op) {
  const std::string what = std::string("morphology (") + op + ")";
  if (dims.size() != 2 && dims.size() != 3) {
    return InvalidArgument(what + ": dims must have 2 entries {H, W} or 3 {nz, ny, nx}, got " +
                           std::to_string(dims.size()));
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 1 || d > (int64_t{1} << 31)) {
      return InvalidArgument(what + ": extent " + std::to_string(d) + " out of range");
    }
    n *= d;
    if (n > (int64_t{1} << 33)) return InvalidArgument(what + ": mask too large");
  }
  if (mask.size() != static_cast<size_t>(n)) {
    return InvalidArgument(what + ": mask has " + std::to_string(mask.size()) +
                           " values but dims give " + std::to_string(n));
  }
  Shape s;
  if (dims.size() == 3) s.nz = dims[0];
  s.ny = dims[dims.size() - 2];
  s.nx = dims[dims.size() - 1];
  return s;
}

std::vector<uint8_t> Binary(const std::vector<uint8_t>& mask) {
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] != 0;
  return out;
}

std::vector<uint8_t> DilateImpl(const std::vector<uint8_t>& mask, const Shape& s, int r) {
  if (r == 0) return Binary(mask);
  const std::vector<double> d = SquaredDistance(mask, s, IsFg);
  const double r2 = static_cast<double>(r) * r;
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = d[i] <= r2;
  return out;
}

std::vector<uint8_t> ErodeImpl(const std::vector<uint8_t>& mask, const Shape& s, int r) {
  if (r == 0) return Binary(mask);
  const std::vector<double> d = SquaredDistance(mask, s, IsBg);
  const double r2 = static_cast<double>(r) * r;
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] != 0 && d[i] > r2;
  return out;
}

}  // namespace morphology_internal

namespace {

using morphology_internal::CheckShape;
using morphology_internal::DilateImpl;
using morphology_internal::ErodeImpl;
using morphology_internal::Shape;

Status CheckRadius(int radius, const char* op) {
  if (radius < 0) {
    return InvalidArgument(std::string("morphology (") + op + "): radius " +
                           std::to_string(radius) + " must be >= 0");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<uint8_t>> Erode(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "erode"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "erode"));
  try {
    return ErodeImpl(mask, s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (erode): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Dilate(const std::vector<uint8_t>& mask,
                                      const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "dilate"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "dilate"));
  try {
    return DilateImpl(mask, s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (dilate): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Open(const std::vector<uint8_t>& mask,
                                    const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "open"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "open"));
  try {
    return DilateImpl(ErodeImpl(mask, s, radius), s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (open): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Close(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "close"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "close"));
  try {
    return ErodeImpl(DilateImpl(mask, s, radius), s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (close): out of memory");
  }
}

}  // namespace fl::data
