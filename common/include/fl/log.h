// Minimal thread-safe logging to stderr: `FL_LOG(kInfo) << "round " << r;`
// Never log keys, shares or plaintext updates.
#pragma once

#include <sstream>
#include <string>

namespace fl {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
// text: "2026-12-05T09:01:02.123Z I [coordinator] message" (ISO 8601, UTC);
// json: one object a line, {"time", "level", "component", "message"}.
enum class LogFormat { kText, kJson };

// Process-wide settings, set once from main().
void SetLogLevel(LogLevel level);
void SetLogComponent(const std::string& component);  // e.g. "coordinator", "worker:alpha"
LogLevel GetLogLevel();
bool ParseLogLevel(const std::string& name, LogLevel* level);
void SetLogFormat(LogFormat format);
bool ParseLogFormat(const std::string& name, LogFormat* format);

class LogLine {
 public:
  explicit LogLine(LogLevel level) : level_(level) {}
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void so FL_LOG works as a single statement.
struct LogVoidify {
  void operator&(const LogLine&) {}
};

}  // namespace fl

#define FL_LOG(level)                                                   \
  (::fl::LogLevel::level < ::fl::GetLogLevel())                         \
      ? (void)0                                                         \
      : ::fl::LogVoidify() & ::fl::LogLine(::fl::LogLevel::level)
