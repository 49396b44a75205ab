// Helpers shared by the NIfTI reading and writing files (internal to worker/data).
//
// NIfTI-1 reading and writing. nifticlib parses the header (both byte orders, qform/sform
// decoding, .hdr/.img pairs); the voxel data are read and written here with znzlib so that
// every short read, gzip error and failed write is seen and reported instead of being
// zero-filled or ignored.
#pragma once

#include <nifti1_io.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl::data::nifti_internal {

// Refuse volumes above 2^31 voxels: far beyond any medical image, and it keeps a corrupt
// header from asking for terabytes.
constexpr int64_t kMaxVoxels = int64_t{1} << 31;

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

// Silences nifticlib's own messages (once per process).
void QuietNiftiLib();

// "NIfTI file '<path>'", the start of error messages.
std::string Quoted(const std::string& path);

// Size in bytes of one voxel of a supported datatype, 0 for others.
int DatatypeSize(int datatype);

bool EndsWith(const std::string& s, const std::string& suffix);

// A number as an ostream prints it, for error messages.
std::string Num(double v);

// InvalidArgument naming the file's datatype and the supported ones.
Status UnsupportedDatatype(const std::string& path, int datatype);

// Checks the start of a single-file NIfTI (.nii, .nii.gz) before nifticlib parses it, so
// that the common failures get precise messages and nifticlib prints nothing.
Status PrecheckHeader(const std::string& path);

// Reads exactly `n` bytes of voxel data of `nim` into `out`.
Status ReadVoxelBytes(const std::string& path, const nifti_image& nim, size_t n,
                      std::vector<uint8_t>& out);

}  // namespace fl::data::nifti_internal
