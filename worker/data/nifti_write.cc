// Writing a Volume as a single-file NIfTI-1 volume (WriteNifti).
#include "data/nifti.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <new>
#include <unistd.h>

#include "data/nifti_internal.h"
#include "fl/env.h"

namespace fl::data {
namespace {

namespace fs = std::filesystem;

using nifti_internal::EndsWith;
using nifti_internal::Num;
using nifti_internal::QuietNiftiLib;
using nifti_internal::Quoted;
using nifti_internal::ZnzCloser;

std::string TempName(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t t = static_cast<uint64_t>(
      Env::Default().Now().time_since_epoch().count());
  const uint64_t x = t ^ (static_cast<uint64_t>(::getpid()) << 32) ^ (counter++ * 0x9E3779B97F4A7C15ULL);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(x));
  fs::path dir = target.parent_path();
  return (dir / (".tmp-" + std::string(hex) + "-" + target.filename().string())).string();
}

}  // namespace

Status WriteNifti(const std::string& path, const Volume& v, NiftiDtype dtype) {
  QuietNiftiLib();
  const bool gz = EndsWith(path, ".nii.gz");
  if (!gz && !EndsWith(path, ".nii")) {
    return InvalidArgument("cannot write " + Quoted(path) + ": the name must end in .nii or .nii.gz");
  }
  FL_RETURN_IF_ERROR(CheckVolume(v, "cannot write " + Quoted(path)));
  if (gz && !nifti_compiled_with_zlib()) {
    return Internal("cannot write " + Quoted(path) + ": nifticlib was built without zlib");
  }

  // Encode the voxels first so that a bad value leaves no file behind.
  const size_t n = v.data.size();
  const bool u8 = dtype == NiftiDtype::kUint8, i16 = dtype == NiftiDtype::kInt16;
  const int datatype = u8 ? DT_UINT8 : i16 ? DT_INT16 : DT_FLOAT32;
  const size_t nbyper = u8 ? 1 : i16 ? 2 : 4;
  const double lo = u8 ? 0 : -32768, hi = u8 ? 255 : 32767;  // integer types only
  std::vector<uint8_t> bytes;
  try {
    bytes.resize(n * nbyper);
  } catch (const std::bad_alloc&) {
    return Internal("out of memory writing " + Quoted(path));
  }
  for (size_t i = 0; i < n; ++i) {
    const float x = v.data[i];
    const double r = dtype == NiftiDtype::kFloat32 ? x : std::round(static_cast<double>(x));
    if (!std::isfinite(x) || (dtype != NiftiDtype::kFloat32 && (r < lo || r > hi))) {
      const int64_t xi = static_cast<int64_t>(i) % v.dims[0];
      const int64_t yi = static_cast<int64_t>(i) / v.dims[0] % v.dims[1];
      const int64_t zi = static_cast<int64_t>(i) / (v.dims[0] * v.dims[1]);
      return InvalidArgument("cannot write " + Quoted(path) + ": value " + Num(x) + " at voxel " +
                             DimsString({xi, yi, zi}) + " does not fit the datatype " +
                             nifti_datatype_string(datatype));
    }
    if (dtype == NiftiDtype::kUint8) {
      bytes[i] = static_cast<uint8_t>(r);
    } else if (dtype == NiftiDtype::kInt16) {
      const int16_t s = static_cast<int16_t>(r);
      std::memcpy(&bytes[2 * i], &s, 2);
    } else {
      std::memcpy(&bytes[4 * i], &x, 4);
    }
  }

  const NiftiGeometry& g = v.geometry;
  nifti_1_header h;
  std::memset(&h, 0, sizeof h);
  h.sizeof_hdr = sizeof h;
  h.regular = 'r';
  h.dim[0] = 3;
  for (int a = 0; a < 3; ++a) h.dim[a + 1] = static_cast<short>(v.dims[a]);
  for (int i = 4; i < 8; ++i) h.dim[i] = 1;
  h.datatype = static_cast<short>(datatype);
  h.bitpix = static_cast<short>(8 * nbyper);
  const float qfac = g.qfac < 0 ? -1.0f : 1.0f;
  h.pixdim[0] = qfac;
  for (int a = 0; a < 3; ++a) h.pixdim[a + 1] = static_cast<float>(v.spacing[a]);
  for (int i = 4; i < 8; ++i) h.pixdim[i] = g.pixdim[i];
  h.vox_offset = 352;
  h.scl_slope = 0;
  h.scl_inter = 0;
  h.xyzt_units = static_cast<char>(NIFTI_UNITS_MM | (g.xyzt_units & 0x38));
  std::snprintf(h.descrip, sizeof h.descrip, "%s", "hospital_fl");
  h.qform_code = static_cast<short>(g.qform_code);
  h.sform_code = static_cast<short>(g.sform_code);
  h.quatern_b = g.quatern_b;
  h.quatern_c = g.quatern_c;
  h.quatern_d = g.quatern_d;
  h.qoffset_x = g.qoffset_x;
  h.qoffset_y = g.qoffset_y;
  h.qoffset_z = g.qoffset_z;
  for (int c = 0; c < 4; ++c) {
    h.srow_x[c] = g.srow_x[c];
    h.srow_y[c] = g.srow_y[c];
    h.srow_z[c] = g.srow_z[c];
  }
  std::memcpy(h.magic, "n+1", 4);

  const fs::path target(path);
  const std::string tmp = TempName(target);
  // znzlib gzips into a scratch file, read back and written to `path` through the Env.
  // nifticlib reads/writes by path: the Env exemption (fl/env.h)
  znzFile fp = znzopen(tmp.c_str(), "wb", gz ? 1 : 0);
  if (znz_isnull(fp)) {
    return Internal("cannot write " + Quoted(path) + ": cannot create '" + tmp + "'");
  }
  ZnzCloser closer(fp);
  const char no_extension[4] = {0, 0, 0, 0};
  bool ok = znzwrite(&h, 1, sizeof h, fp) == sizeof h &&
            znzwrite(no_extension, 1, 4, fp) == 4 &&
            znzwrite(bytes.data(), 1, bytes.size(), fp) == bytes.size();
  ok = closer.Close() && ok;
  Env& env = Env::Default();
  if (!ok) {
    (void)env.RemoveFile(tmp);
    return Internal("cannot write " + Quoted(path) + ": write to '" + tmp + "' failed");
  }
  StatusOr<std::string> encoded = env.ReadFile(tmp, std::numeric_limits<size_t>::max());
  (void)env.RemoveFile(tmp);
  if (!encoded.ok()) {
    return Internal("cannot write " + Quoted(path) + ": cannot read back '" + tmp + "': " +
                    encoded.status().message());
  }
  const Status written = env.WriteFile(path, *encoded);
  if (!written.ok()) return written.WithContext("cannot write " + Quoted(path));
  return Status::Ok();
}

}  // namespace fl::data
