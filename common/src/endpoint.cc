#include "fl/endpoint.h"

#include <cctype>

namespace fl {

Status CheckEndpoint(const std::string& endpoint, bool for_binding) {
  const auto bad = [&](const std::string& why) {
    return InvalidArgument("endpoint \"" + endpoint.substr(0, 128) + "\": " + why);
  };
  if (endpoint.rfind("ipc://", 0) == 0) {
    return endpoint.size() > 6 ? Status::Ok() : bad("ipc:// needs a path");
  }
  if (endpoint.rfind("tcp://", 0) != 0) return bad("expected tcp://HOST:PORT or ipc://PATH");
  const size_t colon = endpoint.rfind(':');
  if (colon <= 6) return bad("expected tcp://HOST:PORT");
  const std::string host = endpoint.substr(6, colon - 6);
  const std::string port = endpoint.substr(colon + 1);
  if (host.empty() || (host == "*" && !for_binding)) return bad("a host is needed");
  if (port.empty() || port.size() > 5) return bad("the port must be 1-65535");
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return bad("the port must be 1-65535");
  }
  const long p = std::stol(port);
  if (p > 65535 || (p == 0 && !for_binding)) return bad(for_binding ? "the port must be 0-65535 (0: any free port)"
                                                                     : "the port must be 1-65535");
  return Status::Ok();
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  const size_t colon = endpoint.rfind(':');
  if (colon <= 6) return false;
  const std::string host = endpoint.substr(6, colon - 6);
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

}  // namespace fl
