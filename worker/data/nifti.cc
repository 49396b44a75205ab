// NIfTI-1 reading and writing. nifticlib parses the header (both byte orders, qform/sform
// decoding, .hdr/.img pairs); the voxel data are read and written here with znzlib so that
// every short read, gzip error and failed write is seen and reported instead of being
// zero-filled or ignored.
#include "data/nifti.h"

#include <nifti1_io.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace fl::data {
namespace {

namespace fs = std::filesystem;

// Refuse volumes above 2^31 voxels: far beyond any medical image, and it keeps a corrupt
// header from asking for terabytes.
constexpr int64_t kMaxVoxels = int64_t{1} << 31;
// Deflate cannot compress better than about 1032:1, so a .nii.gz whose header asks for
// more data than this many times its own size is truncated or forged.
constexpr double kMaxGzipRatio = 1100.0;

struct NimDeleter {
  void operator()(nifti_image* nim) const { nifti_image_free(nim); }
};
using NimPtr = std::unique_ptr<nifti_image, NimDeleter>;

// Closes a znzFile at scope exit unless released first.
class ZnzCloser {
 public:
  explicit ZnzCloser(znzFile f) : f_(f) {}
  ~ZnzCloser() {
    if (!znz_isnull(f_)) znzclose(f_);
  }
  ZnzCloser(const ZnzCloser&) = delete;
  ZnzCloser& operator=(const ZnzCloser&) = delete;
  // Closes now; returns false when the close reported an error (e.g. a failed gzip flush).
  bool Close() {
    if (znz_isnull(f_)) return true;
    return Xznzclose(&f_) == 0;
  }

 private:
  znzFile f_;
};

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

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
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

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// Reads exactly `n` bytes of voxel data of `nim` into `out`.
Status ReadVoxelBytes(const std::string& path, const nifti_image& nim, size_t n,
                      std::vector<uint8_t>& out) {
  const std::string data_file = nim.iname ? nim.iname : path;
  const bool gz = nifti_is_gzfile(data_file.c_str()) != 0;
  std::error_code ec;
  const auto file_size = fs::file_size(data_file, ec);
  if (ec) return NotFound(Quoted(path) + ": cannot open its data file '" + data_file + "'");
  const auto offset = static_cast<uint64_t>(std::max(0, nim.iname_offset));
  if (!gz && file_size < offset + n) {
    return DataLoss(Quoted(path) + " is truncated: the header needs " + std::to_string(n) +
                    " data bytes from offset " + std::to_string(offset) + " but the file has " +
                    std::to_string(file_size) + " bytes");
  }
  if (gz && static_cast<double>(n) > kMaxGzipRatio * static_cast<double>(file_size) + 1e6) {
    return DataLoss(Quoted(path) + " is truncated or corrupt: the header needs " +
                    std::to_string(n) + " data bytes, more than a " + std::to_string(file_size) +
                    "-byte gzip file can hold");
  }
  if (gz && !nifti_compiled_with_zlib()) {
    return Internal("cannot read " + Quoted(path) + ": nifticlib was built without zlib");
  }
  try {
    out.assign(n, 0);
  } catch (const std::bad_alloc&) {
    return Internal("out of memory reading " + Quoted(path));
  }
  znzFile fp = znzopen(data_file.c_str(), "rb", gz ? 1 : 0);
  if (znz_isnull(fp)) return NotFound(Quoted(path) + ": cannot open '" + data_file + "'");
  ZnzCloser closer(fp);
  if (znzseek(fp, static_cast<znz_off_t>(offset), SEEK_SET) < 0) {
    return DataLoss(Quoted(path) + " is truncated: cannot seek to the data at offset " +
                    std::to_string(offset));
  }
  const size_t got = n ? znzread(out.data(), 1, n, fp) : 0;
  if (got != n) {
    const std::string how = got > n ? std::string("a read error (corrupt gzip stream?)")
                                    : std::to_string(got) + " bytes";
    return DataLoss(Quoted(path) + " is truncated or corrupt: expected " + std::to_string(n) +
                    " data bytes, got " + how);
  }
  if (gz) {
    // Reading past the data makes zlib reach the end of the stream and verify its trailer
    // (CRC and length), which catches a file cut inside the last few bytes.
    uint8_t extra = 0;
    const size_t more = znzread(&extra, 1, 1, fp);
    if (more > 1) {
      return DataLoss(Quoted(path) + " is truncated or corrupt: its gzip stream does not end "
                                     "cleanly (bad or missing trailer)");
    }
  }
  if (!closer.Close()) {
    return DataLoss(Quoted(path) + " is corrupt: error closing its gzip stream");
  }
  return Status::Ok();
}

Status UnsupportedDatatype(const std::string& path, int datatype) {
  return InvalidArgument(Quoted(path) + " has unsupported datatype " +
                         nifti_datatype_string(datatype) + " (code " + std::to_string(datatype) +
                         "); supported: uint8, int8, int16, uint16, int32, uint32, float32, float64");
}

// Checks the start of a single-file NIfTI (.nii, .nii.gz) before nifticlib parses it, so
// that the common failures get precise messages and nifticlib prints nothing.
Status PrecheckHeader(const std::string& path) {
  const bool gz = EndsWith(path, ".gz");
  znzFile fp = znzopen(path.c_str(), "rb", gz ? 1 : 0);
  if (znz_isnull(fp)) return NotFound(Quoted(path) + " cannot be opened");
  ZnzCloser closer(fp);
  nifti_1_header h;
  const size_t got = znzread(&h, 1, sizeof h, fp);
  if (got != sizeof h) {
    return DataLoss(Quoted(path) + " is not a NIfTI-1 file or is truncated: " +
                    (got > sizeof h ? std::string("not readable (corrupt gzip stream?)")
                                    : "only " + std::to_string(got) + " header bytes"));
  }
  const bool swapped = h.sizeof_hdr != 348;
  if (swapped) swap_nifti_header(&h, 1);
  if (h.sizeof_hdr != 348) {
    return DataLoss(Quoted(path) + " is not a NIfTI-1 file (bad header size field)");
  }
  if (h.dim[0] < 1 || h.dim[0] > 7) {
    return DataLoss(Quoted(path) + " has a corrupt header (dim[0] = " + std::to_string(h.dim[0]) + ")");
  }
  for (int i = 1; i <= h.dim[0]; ++i) {
    if (h.dim[i] < 1) {
      return DataLoss(Quoted(path) + " has a corrupt header (dim[" + std::to_string(i) +
                      "] = " + std::to_string(h.dim[i]) + ")");
    }
  }
  if (DatatypeSize(h.datatype) == 0) return UnsupportedDatatype(path, h.datatype);
  return Status::Ok();
}

std::string TempName(const fs::path& target) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t t = static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  const uint64_t x = t ^ (static_cast<uint64_t>(::getpid()) << 32) ^ (counter++ * 0x9E3779B97F4A7C15ULL);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(x));
  fs::path dir = target.parent_path();
  return (dir / (".tmp-" + std::string(hex) + "-" + target.filename().string())).string();
}

}  // namespace

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

StatusOr<Volume> ReadNifti(const std::string& path) {
  QuietNiftiLib();
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(Quoted(path) + " does not exist");
  if (!fs::is_regular_file(path, ec)) return InvalidArgument(Quoted(path) + " is not a regular file");

  if (EndsWith(path, ".nii") || EndsWith(path, ".nii.gz")) FL_RETURN_IF_ERROR(PrecheckHeader(path));
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
  std::error_code ec;
  if (!ok) {
    fs::remove(tmp, ec);
    return Internal("cannot write " + Quoted(path) + ": write to '" + tmp + "' failed");
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Internal("cannot write " + Quoted(path) + ": rename failed: " + ec.message());
  }
  return Status::Ok();
}

}  // namespace fl::data
