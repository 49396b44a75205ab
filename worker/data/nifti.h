// NIfTI-1 volumes (.nii, .nii.gz) read and written with nifticlib: 3-D images and label maps
// with the geometry needed to write results back in the same physical space.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl::data {

// The NIfTI-1 header fields that place a volume in physical space, kept so that a derived
// volume (a prediction, a resampled or cropped image) can be written back and overlaid on
// its source by any viewer. Spatial quantities are always in millimetres: ReadNifti converts
// files that declare metres or microns, and xyzt_units then says millimetres.
struct NiftiGeometry {
  // pixdim[0] is qfac (+1 or -1); pixdim[1..3] are the voxel sizes (equal to
  // Volume::spacing); pixdim[4..7] are copied through unchanged.
  std::array<float, 8> pixdim{1, 1, 1, 1, 1, 1, 1, 1};
  int qform_code = 0;  // 0 = no qform (NIFTI_XFORM_UNKNOWN)
  int sform_code = 0;  // 0 = no sform
  // qform: rotation quaternion (b, c, d; a is implied), offset of voxel (0,0,0) and qfac.
  // The voxel-to-world matrix is R * diag(pixdim[1], pixdim[2], qfac * pixdim[3]).
  float quatern_b = 0, quatern_c = 0, quatern_d = 0;
  float qoffset_x = 0, qoffset_y = 0, qoffset_z = 0;
  float qfac = 1;
  // sform: rows of the 3x4 voxel-to-world matrix (columns i, j, k, offset).
  std::array<float, 4> srow_x{1, 0, 0, 0};
  std::array<float, 4> srow_y{0, 1, 0, 0};
  std::array<float, 4> srow_z{0, 0, 1, 0};
  int xyzt_units = 2;  // NIFTI_UNITS_MM (| time units, copied through)
};

// A 3-D scalar volume, x fastest.
struct Volume {
  std::array<int64_t, 3> dims{0, 0, 0};   // nx, ny, nz
  std::array<double, 3> spacing{1, 1, 1};  // voxel size in mm along x, y, z
  std::vector<float> data;                // nx*ny*nz values, index x + nx*(y + ny*z)
  NiftiGeometry geometry;

  size_t Index(int64_t x, int64_t y, int64_t z) const {
    return static_cast<size_t>(x + dims[0] * (y + dims[1] * z));
  }
  int64_t NumVoxels() const { return dims[0] * dims[1] * dims[2]; }
};

// Reads a 3-D volume (or a 4-D/5-D one whose extra dimensions are all 1).
//
// Accepted datatypes: uint8, int8, int16, uint16, int32, uint32, float32, float64, in either
// byte order. When scl_slope is finite and non-zero every value becomes value * scl_slope +
// scl_inter (scl_inter ignored if not finite); scl_slope == 0 means unscaled. spacing comes
// from pixdim[1..3] converted to millimetres (each float taken as its shortest decimal, so a
// header's 0.6f reads as 0.6); non-positive or non-finite spacing is rejected,
// and so are non-finite voxel values.
//
// Errors name the file: NotFound (no such file), DataLoss (not a NIfTI file, truncated or
// corrupt data, including a gzip stream cut short), InvalidArgument (unsupported datatype,
// dimensions, spacing or values).
StatusOr<Volume> ReadNifti(const std::string& path);

// Reads a label map for `image`: its dims must equal image.dims, and every value must be a
// non-negative integer <= 255 (InvalidArgument naming the first bad value and its voxel).
// The result takes the image's spacing (a label lives on its image's voxel grid, so both
// resample alike even when the label header's pixdim differs) and keeps the label file's
// own geometry (qform/sform) for writing.
StatusOr<Volume> ReadNiftiLabel(const std::string& path, const Volume& image);

enum class NiftiDtype { kUint8, kInt16, kFloat32 };

// Writes `v` as a single-file NIfTI-1 volume, gzip-compressed when the path ends in
// ".nii.gz" (the path must end in ".nii" or ".nii.gz"). The header carries v's dims,
// spacing (as pixdim[1..3]) and geometry (qform and sform as stored), units millimetres and
// scl_slope 0 (values are stored unscaled). For integer datatypes values are rounded to the
// nearest integer (halves away from zero); a value outside the datatype's range or not
// finite is InvalidArgument, never wrapped. The file is written under a temporary name in
// the same directory and renamed into place, so readers never see a partial file.
//
// Errors: InvalidArgument (bad volume, extension or value), Internal (I/O failure).
Status WriteNifti(const std::string& path, const Volume& v, NiftiDtype dtype);

// Checks that a volume is well formed: positive dims each <= 32767 (the NIfTI-1 limit),
// data.size() == nx*ny*nz, spacing positive and finite. `what` starts the error message.
Status CheckVolume(const Volume& v, const std::string& what);

// "(nx, ny, nz)" for error messages.
std::string DimsString(const std::array<int64_t, 3>& dims);

}  // namespace fl::data
