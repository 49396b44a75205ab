// Binary morphology on 2-D and 3-D masks, and the label perturbations used to simulate
// sites whose annotators draw systematically different or sloppy contours.
//
// Masks are uint8 arrays, x fastest; `dims` lists the extents slowest first: {H, W} for a
// 2-D mask, {nz, ny, nx} for a 3-D one. Any non-zero value is foreground and every result is
// 0/1. The structuring element is the digital ball (disk in 2-D) of radius r in voxel
// units, {o : |o|^2 <= r^2}; r = 0 is the identity. Operations are computed through exact
// Euclidean distance transforms, so their cost does not grow with r.
//
// Border convention: outside the image counts as background for dilation and as foreground
// for erosion. Hence Open (erode, then dilate) never adds a voxel and Close (dilate, then
// erode) never removes one, and objects touching the border are not eaten at the border.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/rng.h"
#include "fl/status.h"

namespace fl::data {

// Errors of all operations (InvalidArgument): dims not of size 2 or 3, an extent < 1,
// mask.size() != product of dims, radius < 0.
StatusOr<std::vector<uint8_t>> Erode(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius);
StatusOr<std::vector<uint8_t>> Dilate(const std::vector<uint8_t>& mask,
                                      const std::vector<int64_t>& dims, int radius);
StatusOr<std::vector<uint8_t>> Open(const std::vector<uint8_t>& mask,
                                    const std::vector<int64_t>& dims, int radius);
StatusOr<std::vector<uint8_t>> Close(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius);

enum class Perturbation { kOpening, kClosing, kRandomErosion, kRandomDilation };

// Accepts "opening", "closing", "erosion", "dilation", "random_erosion" and
// "random_dilation" (any case). InvalidArgument otherwise.
StatusOr<Perturbation> ParsePerturbation(const std::string& name);
// "opening", "closing", "random_erosion" or "random_dilation".
const char* PerturbationName(Perturbation p);

// Perturbs a mask as a differently-minded annotator would. A radius is drawn uniformly
// from [min_radius, max_radius] (one rng draw), then:
//  - kOpening / kClosing: Open / Close with that radius (removes thin parts and small
//    islands / fills gaps and small holes).
//  - kRandomErosion / kRandomDilation: a sloppy annotator who cuts into or overshoots the
//    contour in some places only, by varying amounts. A smooth random field f is drawn
//    (uniform values in [-1, 1] on a coarse lattice with one node every `field_cell` voxels,
//    interpolated linearly in between; one rng draw per node, x fastest) and the local
//    radius is rho(p) = 0 where f(p) <= 0, else max(1, radius * min(1, 2 f(p))). Erosion
//    removes each foreground voxel whose distance to the background is <= rho(p); dilation
//    adds each background voxel whose distance to the foreground is <= rho(p). So about half
//    of the boundary is left alone and elsewhere the contour moves by 1 to `radius` voxels,
//    in patches about field_cell voxels across. The result is a subset (erosion) or superset (dilation) of the input.
//    Should the field miss the boundary altogether while the full erosion / dilation would
//    change the mask, the full one is returned, so a non-trivial mask always changes.
// Output is 0/1 and depends only on the inputs and the rng state (same seed, same result).
// Errors (InvalidArgument): as for Erode, plus min_radius < 0, max_radius < min_radius,
// field_cell < 1.
StatusOr<std::vector<uint8_t>> PerturbMask(const std::vector<uint8_t>& mask,
                                           const std::vector<int64_t>& dims, Perturbation p,
                                           int min_radius, int max_radius, SplitMix64& rng,
                                           int field_cell = 16);

// Dice overlap 2|A∩B| / (|A| + |B|) of the non-zero voxels of two equally sized masks; 1.0
// when both are empty, 0.0 when the sizes differ.
double DiceCoefficient(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

}  // namespace fl::data
