#include "mem_env.h"

#include <thread>

namespace fl::testing {

std::string MemEnv::Normal(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out.empty() ? "." : out;
}

std::string MemEnv::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status MemEnv::WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(Parent(p))) return Internal("create temporary file in " + Parent(p) + ": no such directory");
  if (dirs_.count(p)) return Internal("rename to " + p + ": is a directory");
  files_[p] = std::string(contents);
  modes_[p] = mode;
  return Status::Ok();
}

Status MemEnv::AppendToFile(const std::string& path, std::string_view contents) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(Parent(p))) return Internal("open " + p + ": no such directory");
  files_[p] += contents;
  if (!modes_.count(p)) modes_[p] = 0644;
  return Status::Ok();
}

StatusOr<std::string> MemEnv::ReadFile(const std::string& path, size_t max_bytes) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(p);
  if (it == files_.end()) return NotFound("cannot open " + p);
  if (it->second.size() > max_bytes) return OutOfRange(p + " is larger than " + std::to_string(max_bytes) + " bytes");
  return it->second;
}

StatusOr<std::vector<std::string>> MemEnv::ListDir(const std::string& path) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  if (!dirs_.count(p)) return NotFound("no directory " + p);
  std::set<std::string> names;
  auto child = [&](const std::string& entry) {
    if (entry != p && Parent(entry) == p) names.insert(entry.substr(p == "/" ? 1 : p.size() + 1));
  };
  for (const auto& [f, contents] : files_) child(f);
  for (const auto& d : dirs_) child(d);
  return std::vector<std::string>(names.begin(), names.end());
}

Status MemEnv::RemoveFile(const std::string& path) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(p);
  modes_.erase(p);
  return Status::Ok();
}

Status MemEnv::MakeDirs(const std::string& path) {
  std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  while (!dirs_.count(p)) {
    if (files_.count(p)) return Internal("create directory " + p + ": a file is in the way");
    dirs_.insert(p);
    p = Parent(p);
  }
  return Status::Ok();
}

bool MemEnv::FileExists(const std::string& path) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  return files_.count(p) > 0 || dirs_.count(p) > 0;
}

bool MemEnv::IsDirectory(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return dirs_.count(Normal(path)) > 0;
}

StatusOr<uint64_t> MemEnv::FileSize(const std::string& path) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(p);
  if (it != files_.end()) return static_cast<uint64_t>(it->second.size());
  if (dirs_.count(p)) return InvalidArgument(p + " is not a regular file");
  return NotFound("no such file " + p);
}

StatusOr<unsigned> MemEnv::FileMode(const std::string& path) {
  const std::string p = Normal(path);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = modes_.find(p);
  if (it != modes_.end()) return it->second;
  if (dirs_.count(p)) return 0755u;
  return NotFound("cannot stat " + p);
}

Status MemEnv::Symlink(const std::string& target, const std::string& link) {
  const std::string t = Normal(target), l = Normal(link);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(t);
  if (it == files_.end()) return Internal("symlink " + l + ": MemEnv links only existing files");
  if (!dirs_.count(Parent(l))) return Internal("symlink " + l + ": no such directory");
  if (files_.count(l) || dirs_.count(l)) return Internal("symlink " + l + ": file exists");
  files_[l] = it->second;
  modes_[l] = modes_.count(t) ? modes_[t] : 0644;
  return Status::Ok();
}

unsigned MemEnv::ModeOf(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = modes_.find(Normal(path));
  return it == modes_.end() ? 0 : it->second;
}

Env::Time MemEnv::Now() { return std::chrono::steady_clock::now(); }
std::chrono::system_clock::time_point MemEnv::WallTime() { return std::chrono::system_clock::now(); }
void MemEnv::SleepFor(Duration d) { std::this_thread::sleep_for(d); }

}  // namespace fl::testing
