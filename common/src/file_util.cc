#include "fl/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace fl {
namespace {
std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Internal("write " + path + ": " + Errno());
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}
}  // namespace

Status AtomicWriteFile(const std::string& path, std::string_view contents, unsigned mode) {
  const std::filesystem::path target(path);
  const std::string dir = target.has_parent_path() ? target.parent_path().string() : ".";
  std::string tmpl = dir + "/." + target.filename().string() + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Internal("create temporary file in " + dir + ": " + Errno());
  Status s = Status::Ok();
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) s = Internal("chmod " + tmpl + ": " + Errno());
  if (s.ok()) s = WriteAll(fd, contents, tmpl);
  if (s.ok() && ::fsync(fd) != 0) s = Internal("fsync " + tmpl + ": " + Errno());
  ::close(fd);
  if (s.ok() && ::rename(tmpl.c_str(), path.c_str()) != 0) s = Internal("rename to " + path + ": " + Errno());
  if (!s.ok()) {
    ::unlink(tmpl.c_str());
    return s;
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  if (size > max_bytes) return OutOfRange(path + " is larger than " + std::to_string(max_bytes) + " bytes");
  in.seekg(0);
  std::string data(size, '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(size))) return DataLoss("cannot read " + path);
  return data;
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Internal("create directory " + path + ": " + ec.message());
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace fl
