// Writing .npy arrays and uncompressed .npz archives (fl-prep's per-hospital MedMNIST files).
#include <zip.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "data/npy_util.h"
#include "data/npz_loader.h"

namespace fl::data {

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
  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  int err = 0;
  zip_t* za = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_EXCL, &err);
  if (za == nullptr) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    const std::string msg = zip_error_strerror(&e);
    zip_error_fini(&e);
    return Internal("cannot create " + tmp + ": " + msg);
  }
  for (const auto& [name, bytes] : members) {
    // The buffers outlive zip_close, so libzip need not copy them (freep = 0).
    zip_source_t* src = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
    zip_int64_t idx = src == nullptr ? -1 : zip_file_add(za, name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
      if (src != nullptr) zip_source_free(src);
      const std::string msg = zip_strerror(za);
      zip_discard(za);
      std::remove(tmp.c_str());
      return Internal("cannot add " + name + " to " + path + ": " + msg);
    }
    zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0);
  }
  if (zip_close(za) != 0) {
    const std::string msg = zip_strerror(za);
    zip_discard(za);
    std::remove(tmp.c_str());
    return Internal("cannot write " + path + ": " + msg);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string msg = std::strerror(errno);
    std::remove(tmp.c_str());
    return Internal("cannot rename " + tmp + " to " + path + ": " + msg);
  }
  return Status::Ok();
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
