#include <cstdio>
#include <ctime>

#include "fl/env.h"

namespace fl {

std::string IsoTime(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const std::time_t seconds = system_clock::to_time_t(t);
  const int ms = static_cast<int>(((duration_cast<milliseconds>(t.time_since_epoch()).count() % 1000) + 1000) % 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char date[32], stamp[40];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp, sizeof stamp, "%s.%03dZ", date, ms);
  return stamp;
}

}  // namespace fl
