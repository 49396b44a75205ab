// Test support: an Env whose files live in memory (time is the real clock). Shared by the
// threads of an in-process federation; a coordinator "restarted" on the same MemEnv finds
// what the previous one wrote, as it would on disk.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>

#include "fl/env.h"

namespace fl::testing {

class MemEnv : public Env {
 public:
  Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) override;
  Status AppendToFile(const std::string& path, std::string_view contents) override;
  StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) override;
  StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  Status RemoveFile(const std::string& path) override;
  Status MakeDirs(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  bool IsDirectory(const std::string& path) override;
  StatusOr<uint64_t> FileSize(const std::string& path) override;
  // MemEnv has no links: `link` becomes a copy of the file `target` as it is now.
  StatusOr<unsigned> FileMode(const std::string& path) override;
  Status Symlink(const std::string& target, const std::string& link) override;
  Time Now() override;
  std::chrono::system_clock::time_point WallTime() override;
  void SleepFor(Duration d) override;

  // Test inspection: the mode a file was written with (0 if missing).
  unsigned ModeOf(const std::string& path);

 private:
  static std::string Normal(const std::string& path);
  static std::string Parent(const std::string& path);

  std::mutex mu_;
  std::map<std::string, std::string> files_;
  std::map<std::string, unsigned> modes_;
  std::set<std::string> dirs_{"/", "."};
};

}  // namespace fl::testing
