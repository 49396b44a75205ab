// Env::Default(): the real file system and clocks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fl/env.h"

namespace fl {
namespace {

std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      return err == ENOSPC ? ResourceExhausted("write " + path + ": no space left on device")
                           : Internal("write " + path + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

void SyncDir(const std::string& dir) {
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

class PosixEnv final : public Env {
 public:
  Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) override {
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
    SyncDir(dir);
    return Status::Ok();
  }

  Status AppendToFile(const std::string& path, std::string_view contents) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Internal("open " + path + ": " + Errno());
    Status s = WriteAll(fd, contents, path);
    if (s.ok() && ::fsync(fd) != 0) s = Internal("fsync " + path + ": " + Errno());
    ::close(fd);
    return s;
  }

  StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) override {
    std::ifstream in(path, std::ios::binary);
    if (!in) return NotFound("cannot open " + path);
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    if (end < 0) return DataLoss("cannot read " + path);
    const auto size = static_cast<size_t>(end);
    if (size > max_bytes) return OutOfRange(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    in.seekg(0);
    std::string data(size, '\0');
    if (!in.read(data.data(), static_cast<std::streamsize>(size))) return DataLoss("cannot read " + path);
    return data;
  }

  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    std::error_code ec;
    if (!std::filesystem::is_directory(path, ec)) return NotFound("no directory " + path);
    std::vector<std::string> names;
    std::filesystem::directory_iterator it(path, ec), end;
    for (; !ec && it != end; it.increment(ec)) names.push_back(it->path().filename().string());
    if (ec) return DataLoss("cannot list " + path + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
  }

  Status RemoveFile(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    if (ec) return Internal("remove " + path + ": " + ec.message());
    return Status::Ok();
  }

  Status MakeDirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Internal("create directory " + path + ": " + ec.message());
    return Status::Ok();
  }

  bool FileExists(const std::string& path) override {
    std::error_code ec;
    return std::filesystem::exists(path, ec);
  }

  bool IsDirectory(const std::string& path) override {
    std::error_code ec;
    return std::filesystem::is_directory(path, ec);
  }

  StatusOr<uint64_t> FileSize(const std::string& path) override {
    std::error_code ec;
    const auto st = std::filesystem::status(path, ec);
    if (st.type() == std::filesystem::file_type::not_found) return NotFound("no such file " + path);
    if (ec) return Internal("stat " + path + ": " + ec.message());
    if (!std::filesystem::is_regular_file(st)) return InvalidArgument(path + " is not a regular file");
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return Internal("stat " + path + ": " + ec.message());
    return static_cast<uint64_t>(size);
  }

  StatusOr<unsigned> FileMode(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return NotFound("cannot stat " + path + ": " + Errno());
    return static_cast<unsigned>(st.st_mode & 07777);
  }

  Status Symlink(const std::string& target, const std::string& link) override {
    std::error_code ec;
    std::filesystem::create_symlink(target, link, ec);
    if (ec) return Internal("symlink " + link + ": " + ec.message());
    return Status::Ok();
  }

  Time Now() override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallTime() override { return std::chrono::system_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv* env = new PosixEnv();  // never destroyed: usable from static destructors
  return *env;
}

}  // namespace fl
