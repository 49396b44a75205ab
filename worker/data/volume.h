// Deterministic preprocessing of 3-D volumes (resampling, cropping, intensity
// normalisation) and conversion between volumes and the 2-D slice datasets the
// segmentation models train on.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/nifti.h"
#include "fl/status.h"

namespace fl::data {

enum class Interp { kLinear, kNearest };

// Resamples `v` to voxel size `spacing` (mm). Output dims are round(dims * old / new), at
// least 1 per axis. Output voxel i along an axis samples the input at voxel coordinate
// (i + 0.5) * new / old - 0.5 (voxel centres, so the volume's extent is preserved), clamped
// to the input's border. kLinear is trilinear interpolation (images), kNearest takes the
// closest input voxel, ties to the higher index (labels: output values are a subset of the
// input's).
//
// Geometry: pixdim[1..3] become `spacing`; the sform's i, j, k columns are scaled by
// new / old and both the sform and qform offsets move to the physical position of the new
// voxel (0,0,0), so the result overlays the source in a viewer.
//
// Errors (InvalidArgument): malformed volume (see CheckVolume), spacing not positive and
// finite, or an output above 2^31 voxels.
StatusOr<Volume> ResampleToSpacing(const Volume& v, std::array<double, 3> spacing, Interp interp);

// Extracts a box of `dims` voxels whose centre voxel is `centre` (the box starts at
// centre - dims / 2, integer division), filling positions outside `v` with `fill`. The
// geometry offsets move to the box's first voxel; spacing is unchanged.
// Errors (InvalidArgument): malformed volume, dims not in [1, 32767].
StatusOr<Volume> CropOrPad(const Volume& v, std::array<int64_t, 3> dims,
                           std::array<int64_t, 3> centre, float fill);

// Centre voxel of the bounding box of the non-zero voxels ((min + max) / 2 per axis, integer
// division); CentreOf(label) when there are none.
std::array<int64_t, 3> ForegroundCentre(const Volume& label);

// dims / 2 per axis (integer division): CropOrPad(v, v.dims, CentreOf(v), x) returns v.
std::array<int64_t, 3> CentreOf(const Volume& v);

// Standardises `values` in place: subtracts the mean and divides by the standard deviation
// (population, computed in double). When std < 1e-8 only the mean is subtracted. With a
// mask (same size as values) the statistics use the voxels where mask != 0 and are applied
// to all voxels; a mask of another size or with no selected voxel leaves values unchanged.
void ZScore(std::vector<float>& values, const std::vector<uint8_t>* mask = nullptr);

// Cuts volumes into 2-D slices for a segmentation Dataset.
//
// axis 2 (axial): slice z has H = ny rows (y) and W = nx columns (x); axis 1: slice y has
// H = nz, W = nx; axis 0: slice x has H = nz, W = ny. Slices 0, stride, 2*stride, ... of
// every volume are kept, in volume order then slice order. sample_shape {1, H, W},
// mask_shape {H, W}; masks come from labels[v] (rounded, each value must be < num_classes);
// dataset labels[i] = 1 when mask i has a non-zero pixel, else 0; cases[i] = the volume's
// index; num_classes as given.
//
// Errors (InvalidArgument): labels.size() != images.size(), an image and its label of
// different dims, volumes whose slices differ in shape, a label value outside
// [0, num_classes), axis not in {0,1,2}, stride < 1, num_classes not in [1, 256], malformed
// volumes.
StatusOr<Dataset> VolumesToSlices(const std::vector<Volume>& images,
                                  const std::vector<Volume>& labels, int axis, int64_t stride,
                                  int num_classes);

// Inverse of VolumesToSlices with stride 1 for one volume: `masks` holds every slice of
// `like` along `axis`, in slice order, each H x W as VolumesToSlices lays them out
// (masks.size() == nx*ny*nz). Returns a volume with like's dims, spacing and geometry whose
// values are the mask values (0..K-1 as floats), ready for WriteNifti(..., kUint8).
// Errors (InvalidArgument): wrong mask size, axis not in {0,1,2}, malformed `like` dims.
StatusOr<Volume> SlicesToVolume(const Volume& like, const std::vector<uint8_t>& masks, int axis = 2);

}  // namespace fl::data
