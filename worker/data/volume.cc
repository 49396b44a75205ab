// Centres and intensity normalisation of volumes, and the checks shared by the volume files.
#include "data/volume.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "data/volume_internal.h"

namespace fl::data {
namespace volume_internal {
namespace {

constexpr int64_t kMaxVoxels = int64_t{1} << 31;

}  // namespace

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
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

}  // namespace volume_internal

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

}  // namespace fl::data
