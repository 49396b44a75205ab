#include "fuzz_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace fl::fuzz {
namespace fs = std::filesystem;

namespace {
void RemoveScratch() {
  std::error_code ec;
  fs::remove_all(ScratchDir(), ec);
}
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz harness: %s\n", what.c_str());
  std::abort();
}
}  // namespace

const std::string& ScratchDir() {
  // Never destroyed: the exit handler that removes the directory still needs the name.
  static const std::string& dir = *new std::string([] {
    const std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string d = base + "/fl-fuzz-" + std::to_string(::getpid());
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) Die("cannot create " + d + ": " + ec.message());
    return d;
  }());
  static const bool registered = std::atexit(RemoveScratch) == 0;
  (void)registered;
  return dir;
}

std::string WriteScratch(const std::string& name, std::string_view bytes, unsigned mode) {
  const std::string path = ScratchDir() + "/" + name;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) Die("cannot write " + path);
  }
  if (::chmod(path.c_str(), mode) != 0) Die("cannot chmod " + path);
  return path;
}

std::string FreshScratchSubdir(const std::string& sub) {
  const std::string path = ScratchDir() + "/" + sub;
  std::error_code ec;
  fs::remove_all(path, ec);
  fs::create_directories(path, ec);
  if (ec) Die("cannot create " + path + ": " + ec.message());
  return path;
}

}  // namespace fl::fuzz
