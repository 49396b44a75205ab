// The environment a process runs in: files and time, behind one interface (the leveldb
// habit). Product code reaches the file system and the clock only through an Env, so that
// tests can run a whole federation on an in-memory Env, fail the Nth write, tear a write,
// run out of space or move the clock (tests/support/). Env::Default() is the real one
// (PosixEnv); the coordinator and the worker service take theirs as a constructor argument.
//
// Third-party decoders that only accept a path (nifticlib for NIfTI volumes) are the one
// exception; their callers name the file they hand over.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fl/status.h"

namespace fl {

class Env {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Duration = std::chrono::steady_clock::duration;

  virtual ~Env() = default;
  static Env& Default();

  // Writes `contents` to `path` atomically: a reader or a crash sees the old file or the
  // new one, never a mixture. `mode` applies before the file appears (0600 for secrets).
  virtual Status WriteFileAtomic(const std::string& path, std::string_view contents, unsigned mode) = 0;
  Status WriteFile(const std::string& path, std::string_view contents) { return WriteFileAtomic(path, contents, 0644); }
  // Appends to `path` (created if missing) and syncs it to disk before returning. Not
  // atomic: for logs whose readers skip a torn last line.
  virtual Status AppendToFile(const std::string& path, std::string_view contents) = 0;
  // NotFound if missing; OutOfRange if larger than `max_bytes`.
  virtual StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) = 0;
  // Names of the entries of a directory, sorted; NotFound if it does not exist.
  virtual StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Removes a file; OK if it did not exist.
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status MakeDirs(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual bool IsDirectory(const std::string& path) = 0;
  // The size of a regular file (links followed); NotFound if missing, InvalidArgument if it
  // is something else (a directory, a device). `FileSize(p).ok()` asks "a regular file?".
  virtual StatusOr<uint64_t> FileSize(const std::string& path) = 0;
  // The permission bits of a file (e.g. 0600); NotFound if missing.
  virtual StatusOr<unsigned> FileMode(const std::string& path) = 0;
  // Creates the symbolic link `link` pointing at `target`, which need not exist.
  virtual Status Symlink(const std::string& target, const std::string& link) = 0;

  // Monotonic time, for deadlines and durations.
  virtual Time Now() = 0;
  // Calendar time, for timestamps people read.
  virtual std::chrono::system_clock::time_point WallTime() = 0;
  virtual void SleepFor(Duration d) = 0;
};

// Seconds as a steady-clock duration, for deadlines written in seconds.
inline Env::Duration Seconds(double s) {
  return std::chrono::duration_cast<Env::Duration>(std::chrono::duration<double>(s));
}
inline double ToSeconds(Env::Duration d) { return std::chrono::duration<double>(d).count(); }

// `t` as ISO 8601 in UTC to the millisecond, e.g. "2026-12-05T09:41:07.412Z" (log lines,
// metrics.jsonl).
std::string IsoTime(std::chrono::system_clock::time_point t);

}  // namespace fl
