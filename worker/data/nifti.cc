// NIfTI helpers shared by reading and writing (nifti_internal.h), and the Volume checks.
#include "data/nifti.h"

#include <cmath>
#include <sstream>
#include <string>

#include "data/nifti_internal.h"

namespace fl::data {
namespace nifti_internal {

void QuietNiftiLib() {
  static const bool once = [] {
    nifti_set_debug_level(0);
    return true;
  }();
  (void)once;
}

std::string Quoted(const std::string& path) { return "NIfTI file '" + path + "'"; }

// Size in bytes of one voxel of a supported datatype, 0 for others.
int DatatypeSize(int datatype) {
  switch (datatype) {
    case DT_UINT8:
    case DT_INT8: return 1;
    case DT_INT16:
    case DT_UINT16: return 2;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT32: return 4;
    case DT_FLOAT64: return 8;
    default: return 0;
  }
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

}  // namespace nifti_internal

using nifti_internal::kMaxVoxels;
using nifti_internal::Num;

std::string DimsString(const std::array<int64_t, 3>& dims) {
  return "(" + std::to_string(dims[0]) + ", " + std::to_string(dims[1]) + ", " +
         std::to_string(dims[2]) + ")";
}

Status CheckVolume(const Volume& v, const std::string& what) {
  for (int a = 0; a < 3; ++a) {
    if (v.dims[a] < 1 || v.dims[a] > 32767) {
      return InvalidArgument(what + ": dimensions " + DimsString(v.dims) +
                             " must each be in [1, 32767]");
    }
    if (!std::isfinite(v.spacing[a]) || v.spacing[a] <= 0) {
      return InvalidArgument(what + ": spacing (" + Num(v.spacing[0]) + ", " + Num(v.spacing[1]) +
                             ", " + Num(v.spacing[2]) + ") must be positive and finite");
    }
  }
  if (v.NumVoxels() > kMaxVoxels) {
    return InvalidArgument(what + ": dimensions " + DimsString(v.dims) + " are too large");
  }
  if (v.data.size() != static_cast<size_t>(v.NumVoxels())) {
    return InvalidArgument(what + ": has " + std::to_string(v.data.size()) +
                           " values but dimensions " + DimsString(v.dims));
  }
  return Status::Ok();
}

}  // namespace fl::data
