// Reading the .npy members of a .npz archive with libzip (ReadNpz, data/npz_loader.h).
#include <zip.h>

#include <exception>
#include <limits>
#include <memory>
#include <utility>

#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "fl/env.h"

namespace fl::data {
namespace {

// ---- Reading members with libzip --------------------------------------------------------

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }  // read-only: nothing to write back
};
struct ZipFclose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFclose>;

std::string FileCtx(const std::string& path) { return "npz file '" + path + "'"; }
std::string MemberCtx(const std::string& path, const std::string& entry) {
  return FileCtx(path) + " member '" + entry + "'";
}

// Deflate cannot expand data by more than ~1032x; a larger claim means a corrupt directory
// (and would make us allocate absurd amounts of memory).
constexpr uint64_t kMaxDeflateRatio = 1100;

// Reads one entry completely, checking its size against the central directory and (through
// libzip, on reaching the end of the entry) its CRC-32.
StatusOr<std::vector<uint8_t>> ReadEntry(zip_t* za, zip_uint64_t index, const std::string& ctx) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat_index(za, index, 0, &st) != 0) {
    return DataLoss(ctx + ": cannot read its directory entry: " + zip_strerror(za));
  }
  if (!(st.valid & ZIP_STAT_SIZE)) return DataLoss(ctx + ": unknown uncompressed size");
  const uint64_t size = st.size;
  if (st.valid & ZIP_STAT_COMP_SIZE) {
    const bool stored = (st.valid & ZIP_STAT_COMP_METHOD) && st.comp_method == ZIP_CM_STORE;
    if ((stored && st.comp_size != size) ||
        size > st.comp_size * kMaxDeflateRatio + 4096) {
      return DataLoss(ctx + ": directory claims " + std::to_string(size) + " bytes from " +
                      std::to_string(st.comp_size) + " compressed bytes");
    }
  }
  if (size > static_cast<uint64_t>(SIZE_MAX)) return DataLoss(ctx + ": entry too large");

  ZipFilePtr file(zip_fopen_index(za, index, 0));
  if (!file) return DataLoss(ctx + ": cannot open: " + zip_strerror(za));
  std::vector<uint8_t> buf(static_cast<size_t>(size));
  size_t got = 0;
  while (got < buf.size()) {
    const zip_int64_t r = zip_fread(file.get(), buf.data() + got, buf.size() - got);
    if (r < 0) return DataLoss(ctx + ": read failed: " + zip_file_strerror(file.get()));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  if (got < buf.size()) {
    return DataLoss(ctx + ": truncated (" + std::to_string(got) + " of " +
                    std::to_string(buf.size()) + " bytes)");
  }
  // One more read reaches the end of the entry, where libzip verifies the CRC.
  uint8_t extra = 0;
  const zip_int64_t r = zip_fread(file.get(), &extra, 1);
  if (r < 0) return DataLoss(ctx + ": read failed: " + zip_file_strerror(file.get()));
  if (r > 0) return DataLoss(ctx + ": entry is longer than its directory entry says");
  return buf;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::map<std::string, NpyArray>> ReadNpzImpl(const std::string& path,
                                                      const std::vector<std::string>& members) {
  const std::string ctx = FileCtx(path);
  Env& env = Env::Default();
  if (!env.FileExists(path)) return NotFound(ctx + ": no such file");
  if (env.IsDirectory(path)) return InvalidArgument(ctx + ": not a regular file");
  // The archive is read whole and opened from memory; `bytes` outlives `za`.
  StatusOr<std::string> bytes = env.ReadFile(path, std::numeric_limits<size_t>::max());
  if (!bytes.ok()) {
    if (bytes.status().code() == StatusCode::kNotFound) return NotFound(ctx + ": " + bytes.status().message());
    return DataLoss(ctx + ": cannot read: " + bytes.status().message());
  }
  zip_error_t zerr;
  zip_error_init(&zerr);
  zip_source_t* src = zip_source_buffer_create(bytes->data(), bytes->size(), 0, &zerr);
  ZipPtr za(src == nullptr ? nullptr : zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &zerr));
  if (!za) {
    if (src != nullptr) zip_source_free(src);  // not taken over by a failed open
    const int err = zip_error_code_zip(&zerr);
    const std::string why = zip_error_strerror(&zerr);
    zip_error_fini(&zerr);
    if (err == ZIP_ER_READ) return DataLoss(ctx + ": cannot read: " + why);
    return DataLoss(ctx + ": not a valid (or a truncated) zip archive: " + why);
  }
  zip_error_fini(&zerr);

  // (key, entry index) pairs to read.
  std::vector<std::pair<std::string, zip_uint64_t>> todo;
  const zip_int64_t num_entries = zip_get_num_entries(za.get(), 0);
  if (members.empty()) {
    for (zip_int64_t i = 0; i < num_entries; ++i) {
      const char* name = zip_get_name(za.get(), static_cast<zip_uint64_t>(i), 0);
      if (name == nullptr || !EndsWith(name, ".npy")) continue;
      const std::string entry(name);
      todo.emplace_back(entry.substr(0, entry.size() - 4), static_cast<zip_uint64_t>(i));
    }
  } else {
    for (const std::string& m : members) {
      const zip_int64_t idx = zip_name_locate(za.get(), (m + ".npy").c_str(), 0);
      if (idx >= 0) {
        todo.emplace_back(m, static_cast<zip_uint64_t>(idx));
        continue;
      }
      std::string names;
      for (zip_int64_t i = 0; i < num_entries && i < 20; ++i) {
        const char* name = zip_get_name(za.get(), static_cast<zip_uint64_t>(i), 0);
        names += std::string(i ? ", " : "") + (name ? name : "?");
      }
      if (num_entries > 20) names += ", ...";
      return NotFound(ctx + ": no member '" + m + ".npy' (members: " +
                      (names.empty() ? "none" : names) + ")");
    }
  }

  std::map<std::string, NpyArray> out;
  for (const auto& [key, index] : todo) {
    if (out.count(key) != 0) continue;  // a member requested twice
    const std::string mctx = MemberCtx(path, key + ".npy");
    FL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadEntry(za.get(), index, mctx));
    FL_ASSIGN_OR_RETURN(NpyArray array, ParseNpy(bytes.data(), bytes.size(), mctx));
    out.emplace(key, std::move(array));
  }
  return out;
}

}  // namespace

StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path,
                                                  const std::vector<std::string>& members) {
  try {
    return ReadNpzImpl(path, members);
  } catch (const std::exception& e) {  // std::bad_alloc for a huge member
    return Internal(FileCtx(path) + ": " + e.what());
  }
}

}  // namespace fl::data
