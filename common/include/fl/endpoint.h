// Transport endpoints as users write them: "tcp://HOST:PORT" (PORT 1-65535; a server may
// bind port 0 for any free port, which it logs) or "ipc://PATH". Checked when a config is
// read, so that a typo (port 99999) is an error, not a silently random port.
#pragma once

#include <string>

#include "fl/status.h"

namespace fl {

// `for_binding`: a server's listen endpoint (port 0 and host "*" allowed).
Status CheckEndpoint(const std::string& endpoint, bool for_binding);
// True for ipc:// and for tcp:// on 127.0.0.0/8, localhost or ::1: traffic that never
// leaves the machine (where plain TCP may be allowed).
bool IsLoopbackEndpoint(const std::string& endpoint);

}  // namespace fl
