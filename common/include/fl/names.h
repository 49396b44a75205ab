// The one rule for names that travel in messages, rosters, configs and metrics: hospital
// names and metric names are 1-64 characters of [A-Za-z0-9._-]. keygen, the roster, the
// worker's config, the coordinator's admission and the metrics reader all apply it.
#pragma once

#include <string>
#include <string_view>

#include "fl/status.h"

namespace fl {

constexpr size_t kMaxNameLength = 64;

bool IsValidName(std::string_view name);
// InvalidArgument naming `what` and the rule when `name` breaks it.
Status CheckName(std::string_view name, const std::string& what);

}  // namespace fl
