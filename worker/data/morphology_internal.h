// Helpers shared by the morphology and label perturbation files (internal to worker/data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fl/status.h"

namespace fl::data::morphology_internal {

// A validated shape as {nz, ny, nx} (nz = 1 for 2-D masks).
struct Shape {
  int64_t nz = 1, ny = 1, nx = 1;
  size_t size() const { return static_cast<size_t>(nz * ny * nx); }
};

// Checks a mask and its dims for operation `op` (InvalidArgument as documented in morphology.h).
StatusOr<Shape> CheckShape(const std::vector<uint8_t>& mask, const std::vector<int64_t>& dims,
                           const char* op);

// Squared Euclidean distance from every voxel to the nearest voxel where `target(mask[i])`
// holds, +inf when there is none.
std::vector<double> SquaredDistance(const std::vector<uint8_t>& mask, const Shape& s, bool (*target)(uint8_t));

inline bool IsFg(uint8_t v) { return v != 0; }
inline bool IsBg(uint8_t v) { return v == 0; }

// The mask as 0/1.
std::vector<uint8_t> Binary(const std::vector<uint8_t>& mask);

// Dilation / erosion by the ball of radius r (r = 0: Binary(mask)), unchecked.
std::vector<uint8_t> DilateImpl(const std::vector<uint8_t>& mask, const Shape& s, int r);
std::vector<uint8_t> ErodeImpl(const std::vector<uint8_t>& mask, const Shape& s, int r);

}  // namespace fl::data::morphology_internal
