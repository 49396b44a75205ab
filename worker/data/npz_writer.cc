// Writing .npy arrays and uncompressed .npz archives (fl-prep's per-hospital MedMNIST files).
#include <zip.h>

#include <memory>
#include <string>

#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "fl/env.h"

namespace fl::data {
namespace {

struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
using ZipSourcePtr = std::unique_ptr<zip_source_t, ZipSourceFree>;

// The message of a libzip error, which it releases.
std::string ZipErrorText(zip_error_t* e) {
  std::string msg = zip_error_strerror(e);
  zip_error_fini(e);
  return msg;
}

// The whole contents of a (closed) libzip source.
StatusOr<std::string> ReadSource(zip_source_t* src, const std::string& path) {
  if (zip_source_open(src) != 0) {
    return Internal("cannot write " + path + ": " + zip_error_strerror(zip_source_error(src)));
  }
  std::string out;
  char buf[1 << 16];
  zip_int64_t got = 0;
  while ((got = zip_source_read(src, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(got));
  const bool failed = got < 0;
  const std::string msg = failed ? zip_error_strerror(zip_source_error(src)) : "";
  zip_source_close(src);
  if (failed) return Internal("cannot write " + path + ": " + msg);
  return out;
}

}  // namespace

StatusOr<std::vector<uint8_t>> EncodeNpy(const NpyArray& a) {
  FL_ASSIGN_OR_RETURN(const internal::NpyDtype t, internal::ParseNpyDtype(a.dtype, "array"));
  for (int64_t d : a.shape) {
    if (d < 0) return InvalidArgument("array has a negative dimension " + internal::ShapeString(a.shape));
  }
  if (a.data.size() != static_cast<size_t>(a.numel()) * t.itemsize) {
    return InvalidArgument("array of shape " + internal::ShapeString(a.shape) + " and dtype " + a.dtype + " has " +
                           std::to_string(a.data.size()) + " bytes of data");
  }
  std::string header = "{'descr': '" + a.dtype + "', 'fortran_order': False, 'shape': " +
                       internal::ShapeString(a.shape) + ", }";
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of
  // 64 and ended by a newline.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 65535) return InvalidArgument("array header too long: " + internal::ShapeString(a.shape));
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<uint8_t>(header.size() & 0xff),
                              static_cast<uint8_t>(header.size() >> 8)};
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

Status WriteNpz(const std::string& path, const std::map<std::string, NpyArray>& arrays) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> members;
  for (const auto& [name, a] : arrays) {
    StatusOr<std::vector<uint8_t>> bytes = EncodeNpy(a);
    if (!bytes.ok()) return InvalidArgument("npz file '" + path + "' member '" + name + ".npy': " + bytes.status().message());
    members.emplace_back(name + ".npy", std::move(*bytes));
  }
  // The archive is built in memory (a libzip buffer source), then written atomically.
  zip_error_t zerr;
  zip_error_init(&zerr);
  ZipSourcePtr src(zip_source_buffer_create(nullptr, 0, 0, &zerr));
  if (!src) return Internal("cannot create " + path + ": " + ZipErrorText(&zerr));
  zip_t* za = zip_open_from_source(src.get(), ZIP_CREATE | ZIP_TRUNCATE, &zerr);
  if (za == nullptr) return Internal("cannot create " + path + ": " + ZipErrorText(&zerr));
  zip_error_fini(&zerr);
  zip_source_keep(src.get());  // the archive owns a reference now; ours reads the result back
  for (const auto& [name, bytes] : members) {
    // The buffers outlive zip_close, so libzip need not copy them (freep = 0).
    zip_source_t* member = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
    zip_int64_t idx = member == nullptr ? -1 : zip_file_add(za, name.c_str(), member, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      if (member != nullptr) zip_source_free(member);
      const std::string msg = zip_strerror(za);
      zip_discard(za);
      return Internal("cannot add " + name + " to " + path + ": " + msg);
    }
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  if (zip_close(za) != 0) {
    const std::string msg = zip_strerror(za);
    zip_discard(za);
    return Internal("cannot write " + path + ": " + msg);
  }
  FL_ASSIGN_OR_RETURN(const std::string archive, ReadSource(src.get(), path));
  // A temporary file that an interrupted run of the earlier, file-based writer left behind.
  (void)Env::Default().RemoveFile(path + ".tmp");
  return Env::Default().WriteFile(path, archive);
}

StatusOr<NpyArray> TakeRows(const NpyArray& a, const std::vector<size_t>& rows) {
  if (a.shape.empty()) return InvalidArgument("cannot take rows of a 0-d array");
  const auto n = static_cast<size_t>(a.shape[0]);
  const size_t row_bytes = n == 0 ? 0 : a.data.size() / n;
  NpyArray out;
  out.dtype = a.dtype;
  out.shape = a.shape;
  out.shape[0] = static_cast<int64_t>(rows.size());
  out.data.reserve(rows.size() * row_bytes);
  for (size_t r : rows) {
    if (r >= n) return InvalidArgument("row " + std::to_string(r) + " out of range for " + std::to_string(n) + " rows");
    const auto first = a.data.begin() + static_cast<std::ptrdiff_t>(r * row_bytes);
    out.data.insert(out.data.end(), first, first + static_cast<std::ptrdiff_t>(row_bytes));
  }
  return out;
}

}  // namespace fl::data
