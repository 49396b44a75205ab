// The ZeroMQ backend of fl/transport.h: a ROUTER socket for the server, a DEALER socket
// for a client, over tcp:// or ipc://. Each transport owns its context and socket and is
// used by one thread. ZeroMQ reports link events only on the client side (DEALER); the
// server learns that a worker is gone from its heartbeats, or when a send to it fails.
#pragma once

#include <memory>
#include <string>

#include "fl/status.h"
#include "fl/transport.h"

namespace fl {

// Binds `endpoint` (e.g. "tcp://0.0.0.0:7000"; port 0 picks a free port, see endpoint()).
StatusOr<std::unique_ptr<Transport>> ListenZmq(const std::string& endpoint, const TransportOptions& options);
// Connects to a server at `endpoint`; ZeroMQ reconnects by itself when the link drops.
StatusOr<std::unique_ptr<Transport>> ConnectZmq(const std::string& endpoint, const TransportOptions& options);

}  // namespace fl
