// ZeroMQ transport: ROUTER at the coordinator, DEALER at each worker, over TCP (or
// inproc/ipc for tests). Sockets are owned by one thread each. Every inbound message is
// checked (frame count, envelope size and fields, payload count) before it is returned.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <zmq.hpp>

#include "fl/status.h"
#include "fl/wire.h"

namespace fl {

struct TransportOptions {
  // Largest inbound multipart message in bytes; bigger ones are dropped by ZeroMQ
  // before they are read (and the sending peer is disconnected).
  int64_t max_message_bytes = int64_t{1} << 31;
  int send_timeout_ms = 10000;
  int linger_ms = 2000;
};

struct Incoming {
  std::string peer;   // ZeroMQ routing id (ROUTER only)
  Status status;      // not OK: the message was malformed and has been discarded
  Message message;
};

class RouterEndpoint {
 public:
  static StatusOr<std::unique_ptr<RouterEndpoint>> Bind(const std::string& endpoint,
                                                        const TransportOptions& options);
  // The endpoint actually bound (resolves "tcp://127.0.0.1:0" to the chosen port).
  std::string bound_endpoint() const;
  Status Send(const std::string& peer, Message message);
  // Waits up to `timeout_ms` for one message; nullopt on timeout.
  std::optional<Incoming> Receive(int timeout_ms);

 private:
  RouterEndpoint() = default;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
};

class DealerEndpoint {
 public:
  static StatusOr<std::unique_ptr<DealerEndpoint>> Connect(const std::string& endpoint,
                                                           const TransportOptions& options);
  Status Send(Message message);
  std::optional<Incoming> Receive(int timeout_ms);

 private:
  DealerEndpoint() = default;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
};

}  // namespace fl
