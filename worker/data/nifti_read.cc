// Reading NIfTI-1 volumes and label maps into a Volume (ReadNifti, ReadNiftiLabel).
#include "data/nifti.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <system_error>

#include "data/nifti_internal.h"
#include "fl/env.h"

namespace fl::data {
namespace {

using nifti_internal::DatatypeSize;
using nifti_internal::EndsWith;
using nifti_internal::kMaxVoxels;
using nifti_internal::Num;
using nifti_internal::PrecheckHeader;
using nifti_internal::QuietNiftiLib;
using nifti_internal::Quoted;
using nifti_internal::ReadVoxelBytes;
using nifti_internal::UnsupportedDatatype;

struct NimDeleter {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double ValueAt(const uint8_t* p, int datatype) {
  switch (datatype) {
    case DT_UINT8: return *p;
    case DT_INT8: return static_cast<int8_t>(*p);
    case DT_INT16: return Load<int16_t>(p);
    case DT_UINT16: return Load<uint16_t>(p);
    case DT_INT32: return Load<int32_t>(p);
    case DT_UINT32: return Load<uint32_t>(p);
    case DT_FLOAT32: return Load<float>(p);
    case DT_FLOAT64: return Load<double>(p);
    default: return 0;
  }
}

// Millimetres per unit of the file's spatial unit code.
double MillimetresPerUnit(int xyz_units) {
  switch (xyz_units) {
    case NIFTI_UNITS_METER: return 1000.0;
    case NIFTI_UNITS_MICRON: return 0.001;
    default: return 1.0;  // NIFTI_UNITS_MM and NIFTI_UNITS_UNKNOWN
  }
}

// The double nearest to the shortest decimal that identifies `f` (0.6f -> 0.6 rather than
// 0.60000002384...), so that spacings read from a header compare equal to the decimal
// values a user configures. Non-finite values pass through.
double FloatToDouble(float f) {
  if (!std::isfinite(f)) return f;
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  if (r.ec != std::errc()) return f;
  double d = f;
  if (std::from_chars(buf, r.ptr, d).ec != std::errc()) return f;
  return d;
}

}  // namespace

StatusOr<Volume> ReadNifti(const std::string& path) {
  QuietNiftiLib();
  Env& env = Env::Default();
  if (!env.FileExists(path)) return NotFound(Quoted(path) + " does not exist");
  if (!env.FileSize(path).ok()) return InvalidArgument(Quoted(path) + " is not a regular file");

  if (EndsWith(path, ".nii") || EndsWith(path, ".nii.gz")) FL_RETURN_IF_ERROR(PrecheckHeader(path));
  // nifticlib reads/writes by path: the Env exemption (fl/env.h)
  NimPtr nim(nifti_image_read(path.c_str(), 0));
  if (!nim) {
    return DataLoss(Quoted(path) + " is not a readable NIfTI-1 file (bad or truncated header)");
  }
  if (nim->nifti_type == NIFTI_FTYPE_ASCII) {
    return InvalidArgument(Quoted(path) + " is an ASCII NIfTI file, which is not supported");
  }
  const int ndim = nim->dim[0];
  bool dims_ok = ndim >= 3 && ndim <= 7;
  for (int i = 1; dims_ok && i <= ndim; ++i) {
    if (nim->dim[i] < 1 || (i > 3 && nim->dim[i] != 1)) dims_ok = false;
  }
  if (!dims_ok) {
    std::string d = "(";
    for (int i = 1; i <= std::clamp(ndim, 0, 7); ++i) d += (i > 1 ? ", " : "") + std::to_string(nim->dim[i]);
    return InvalidArgument(Quoted(path) + " has dimensions " + d + ") (dim[0] = " +
                           std::to_string(ndim) +
                           "); expected a 3-D volume, or 4-D with a single time point");
  }
  const int nbyper = DatatypeSize(nim->datatype);
  if (nbyper == 0) return UnsupportedDatatype(path, nim->datatype);

  Volume v;
  v.dims = {nim->dim[1], nim->dim[2], nim->dim[3]};
  const double mm = MillimetresPerUnit(nim->xyz_units);
  for (int a = 0; a < 3; ++a) v.spacing[a] = FloatToDouble(nim->pixdim[a + 1]) * mm;
  for (int a = 0; a < 3; ++a) {
    if (!std::isfinite(v.spacing[a]) || v.spacing[a] <= 0) {
      return InvalidArgument(Quoted(path) + " has invalid voxel spacing (" +
                             Num(nim->pixdim[1]) + ", " + Num(nim->pixdim[2]) + ", " +
                             Num(nim->pixdim[3]) + "); spacing must be positive and finite");
    }
  }
  if (v.NumVoxels() > kMaxVoxels) {
    return InvalidArgument(Quoted(path) + " has dimensions " + DimsString(v.dims) + ", too large");
  }

  const size_t n = static_cast<size_t>(v.NumVoxels());
  std::vector<uint8_t> bytes;
  FL_RETURN_IF_ERROR(ReadVoxelBytes(path, *nim, n * nbyper, bytes));
  if (nbyper > 1 && nim->byteorder != nifti_short_order()) {
    for (size_t i = 0; i < n; ++i) std::reverse(&bytes[i * nbyper], &bytes[i * nbyper] + nbyper);
  }

  const bool scaled = std::isfinite(nim->scl_slope) && nim->scl_slope != 0.0f;
  const double slope = scaled ? nim->scl_slope : 1.0;
  const double inter = scaled && std::isfinite(nim->scl_inter) ? nim->scl_inter : 0.0;
  try {
    v.data.resize(n);
  } catch (const std::bad_alloc&) {
    return Internal("out of memory reading " + Quoted(path));
  }
  for (size_t i = 0; i < n; ++i) {
    const double x = ValueAt(&bytes[i * nbyper], nim->datatype) * slope + inter;
    const float f = static_cast<float>(x);
    if (!std::isfinite(f)) {
      const int64_t xi = static_cast<int64_t>(i) % v.dims[0];
      const int64_t yi = static_cast<int64_t>(i) / v.dims[0] % v.dims[1];
      const int64_t zi = static_cast<int64_t>(i) / (v.dims[0] * v.dims[1]);
      return InvalidArgument(Quoted(path) + " has a non-finite value (" + Num(x) + ") at voxel " +
                             DimsString({xi, yi, zi}));
    }
    v.data[i] = f;
  }

  NiftiGeometry& g = v.geometry;
  const float fmm = static_cast<float>(mm);
  for (int i = 0; i < 8; ++i) g.pixdim[i] = nim->pixdim[i];
  g.qfac = nim->qfac < 0 ? -1.0f : 1.0f;
  g.pixdim[0] = g.qfac;
  for (int a = 0; a < 3; ++a) g.pixdim[a + 1] = static_cast<float>(v.spacing[a]);
  g.qform_code = nim->qform_code;
  g.sform_code = nim->sform_code;
  g.quatern_b = nim->quatern_b;
  g.quatern_c = nim->quatern_c;
  g.quatern_d = nim->quatern_d;
  g.qoffset_x = nim->qoffset_x * fmm;
  g.qoffset_y = nim->qoffset_y * fmm;
  g.qoffset_z = nim->qoffset_z * fmm;
  if (g.sform_code > 0) {
    for (int c = 0; c < 4; ++c) {
      g.srow_x[c] = nim->sto_xyz.m[0][c] * fmm;
      g.srow_y[c] = nim->sto_xyz.m[1][c] * fmm;
      g.srow_z[c] = nim->sto_xyz.m[2][c] * fmm;
    }
  } else {
    g.srow_x = {g.pixdim[1], 0, 0, 0};
    g.srow_y = {0, g.pixdim[2], 0, 0};
    g.srow_z = {0, 0, g.pixdim[3], 0};
  }
  g.xyzt_units = NIFTI_UNITS_MM | (nim->time_units & 0x38);
  return v;
}

StatusOr<Volume> ReadNiftiLabel(const std::string& path, const Volume& image) {
  FL_ASSIGN_OR_RETURN(Volume label, ReadNifti(path));
  if (label.dims != image.dims) {
    return InvalidArgument("label " + Quoted(path) + " has dimensions " + DimsString(label.dims) +
                           " but its image has " + DimsString(image.dims));
  }
  // A label annotates its image voxel by voxel: it lives on the image's grid, whatever
  // spacing its own header records (exporters often round it), so resampling treats both alike.
  label.spacing = image.spacing;
  for (size_t i = 0; i < label.data.size(); ++i) {
    const float x = label.data[i];
    const float r = std::round(x);
    // Labels stored as floats (or scaled integers) may carry rounding noise; anything
    // further than 1e-3 from an integer is not a label.
    if (!(r >= 0 && r <= 255 && std::fabs(x - r) <= 1e-3f)) {
      const int64_t xi = static_cast<int64_t>(i) % label.dims[0];
      const int64_t yi = static_cast<int64_t>(i) / label.dims[0] % label.dims[1];
      const int64_t zi = static_cast<int64_t>(i) / (label.dims[0] * label.dims[1]);
      return InvalidArgument("label " + Quoted(path) + " has value " + Num(x) + " at voxel " +
                             DimsString({xi, yi, zi}) +
                             "; labels must be integers in [0, 255]");
    }
    label.data[i] = r;
  }
  return label;
}

}  // namespace fl::data
