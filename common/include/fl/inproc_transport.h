// The in-process backend of fl/transport.h: servers bound to names and clients connected
// to them inside one process, with no sockets. It behaves as the ZeroMQ backend does where
// a federation can tell: frames are checked by the same DecodeFrames, a message above the
// receiver's max_message_bytes is dropped, a send to a peer that is gone fails, a client
// may connect before its server is bound (its messages wait until it is), and a server
// that goes away and comes back under the same name is reconnected to. Both sides see
// link events (ZeroMQ's server side does not; code must not depend on them).
#pragma once

#include <memory>
#include <string>

#include "fl/status.h"
#include "fl/transport.h"

namespace fl {

class InProcNetwork {
 public:
  InProcNetwork();
  ~InProcNetwork();
  InProcNetwork(const InProcNetwork&) = delete;
  InProcNetwork& operator=(const InProcNetwork&) = delete;

  // A server under `name`; fails if one is bound there already.
  StatusOr<std::unique_ptr<Transport>> Listen(const std::string& name, const TransportOptions& options = {});
  // A client of the server under `name`, bound now or later.
  StatusOr<std::unique_ptr<Transport>> Connect(const std::string& name, const TransportOptions& options = {});

  struct Hub;

 private:
  std::shared_ptr<Hub> hub_;
};

}  // namespace fl
