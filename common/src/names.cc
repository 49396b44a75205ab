#include "fl/names.h"

#include <algorithm>
#include <cctype>

namespace fl {

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

Status CheckName(std::string_view name, const std::string& what) {
  if (IsValidName(name)) return Status::Ok();
  const std::string shown(name.substr(0, kMaxNameLength));
  return InvalidArgument(what + " must be 1-64 characters of [A-Za-z0-9._-], got \"" + shown +
                         (name.size() > kMaxNameLength ? "...\"" : "\""));
}

}  // namespace fl
