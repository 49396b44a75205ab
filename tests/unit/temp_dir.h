// A fresh directory under the system temp dir, removed with its contents at scope exit.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include "fl/crypto.h"

namespace fl::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "fl-test-") {
    uint8_t r[8];
    (void)crypto::Init();
    crypto::RandomBytes(r, sizeof r);
    path_ = std::filesystem::temp_directory_path() / (prefix + crypto::ToHex(r, sizeof r));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  // Writes `content` (bytes as given) to File(name) and returns that path.
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = File(name);
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace fl::testing
