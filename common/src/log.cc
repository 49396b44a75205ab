#include "fl/log.h"

#include "fl/env.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace fl {
namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::mutex g_mutex;
std::string& Component() {
  static std::string component = "fl";
  return component;
}
const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "?";
}
const char* LevelTag(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarning: return "W";
    case LogLevel::kError: return "E";
  }
  return "?";
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }
void SetLogComponent(const std::string& component) {
  std::lock_guard<std::mutex> lock(g_mutex);
  Component() = component;
}

bool ParseLogLevel(const std::string& name, LogLevel* level) {
  if (name == "debug") *level = LogLevel::kDebug;
  else if (name == "info") *level = LogLevel::kInfo;
  else if (name == "warning") *level = LogLevel::kWarning;
  else if (name == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

void SetLogFormat(LogFormat format) { g_format = format; }

bool ParseLogFormat(const std::string& name, LogFormat* format) {
  if (name == "text") *format = LogFormat::kText;
  else if (name == "json") *format = LogFormat::kJson;
  else return false;
  return true;
}

LogLine::~LogLine() {
  const std::string stamp = IsoTime(Env::Default().WallTime());
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_format == LogFormat::kJson) {
    const nlohmann::json line = {{"time", stamp}, {"level", LevelName(level_)}, {"component", Component()},
                                 {"message", stream_.str()}};
    std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fprintf(stderr, "%s %s [%s] %s\n", stamp.c_str(), LevelTag(level_), Component().c_str(), stream_.str().c_str());
  }
  std::fflush(stderr);
}

}  // namespace fl
