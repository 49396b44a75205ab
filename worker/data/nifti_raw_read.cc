// Low-level NIfTI reading with znzlib: the header precheck and the exact voxel bytes.
#include "data/nifti_internal.h"

#include <algorithm>
#include <cstdio>
#include <new>

#include "fl/env.h"

namespace fl::data::nifti_internal {
namespace {

// Deflate cannot compress better than about 1032:1, so a .nii.gz whose header asks for
// more data than this many times its own size is truncated or forged.
constexpr double kMaxGzipRatio = 1100.0;

}  // namespace

// Reads exactly `n` bytes of voxel data of `nim` into `out`.
Status ReadVoxelBytes(const std::string& path, const nifti_image& nim, size_t n,
                      std::vector<uint8_t>& out) {
  const std::string data_file = nim.iname ? nim.iname : path;
  const bool gz = nifti_is_gzfile(data_file.c_str()) != 0;
  const StatusOr<uint64_t> file_size_or = Env::Default().FileSize(data_file);
  if (!file_size_or.ok()) return NotFound(Quoted(path) + ": cannot open its data file '" + data_file + "'");
  const uint64_t file_size = *file_size_or;
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
  // nifticlib reads/writes by path: the Env exemption (fl/env.h)
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
  // nifticlib reads/writes by path: the Env exemption (fl/env.h)
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

}  // namespace fl::data::nifti_internal
