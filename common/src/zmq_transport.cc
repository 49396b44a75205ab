// The ZeroMQ backend of fl/transport.h: ROUTER (server) and DEALER (client) sockets, each
// with its own context, polled together with their ZAP handler (server, with CURVE) and
// their monitor (link and handshake events).
#include "fl/zmq_transport.h"

#include <memory>
#include <vector>

#include "zmq_internal.h"

namespace fl {
namespace zmq_backend {

// The number of frames kept is bounded before they are buffered, so a peer cannot make us
// hold an unbounded list of them, and a message above `max_bytes` (a link made before the
// limit was lowered) is not copied. Over CURVE, the sender's authenticated name comes
// with the message.
TransportEvent ReadMessage(zmq::socket_t& socket, bool with_peer, int64_t max_bytes) {
  TransportEvent ev;
  std::vector<Frame> frames;
  size_t count = 0;
  int64_t bytes = 0;
  bool first = true;
  do {
    zmq::message_t f;
    if (!socket.recv(f, zmq::recv_flags::dontwait)) break;
    if (with_peer && first) {
      ev.peer = f.to_string();
    } else {
      if (count == 0) {
        const char* user = zmq_msg_gets(f.handle(), "User-Id");
        if (user) ev.authenticated_name = user;
      }
      bytes += static_cast<int64_t>(f.size());
      if (++count <= 2 + kMaxPayloadFrames && bytes <= max_bytes) frames.emplace_back(f.data(), f.size());
    }
    first = false;
  } while (socket.get(zmq::sockopt::rcvmore));
  ev.kind = TransportEvent::Kind::kRejected;
  if (bytes > max_bytes) {
    ev.status = InvalidArgument("message of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                std::to_string(max_bytes));
    return ev;
  }
  if (count > frames.size()) {
    ev.status = InvalidArgument("message with " + std::to_string(count) + " frames");
    return ev;
  }
  StatusOr<Message> m = DecodeFrames(std::move(frames));
  if (!m.ok()) {
    ev.status = m.status();
    return ev;
  }
  ev.kind = TransportEvent::Kind::kMessage;
  ev.message = std::move(m).value();
  return ev;
}

}  // namespace zmq_backend

namespace {

using zmq_backend::Monitor;
using zmq_backend::ZapHandler;

// Failed handshakes (a refusal by the ZAP handler is reported by the handler itself).
constexpr int kHandshakeFailures = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;

Status SendAll(zmq::socket_t& socket, const PeerId* peer, std::vector<Frame>& frames) {
  if (frames.empty()) return InvalidArgument("a message needs at least one frame");
  try {
    if (peer && !socket.send(zmq::buffer(*peer), zmq::send_flags::sndmore)) return Unavailable("send timed out");
    for (size_t i = 0; i < frames.size(); ++i) {
      const auto more = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket.send(zmq::buffer(frames[i].data(), frames[i].size()), more)) return Unavailable("send timed out");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Unavailable(std::string("send failed: ") + e.what());
  }
}

TransportEvent ReceiveFailed(const zmq::error_t& e) {
  TransportEvent ev;
  ev.kind = TransportEvent::Kind::kRejected;
  ev.status = Unavailable(std::string("receive failed: ") + e.what());
  return ev;
}

// Polls the socket and its helpers; the first helper with an event wins.
std::optional<TransportEvent> PollAll(zmq::socket_t& socket, ZapHandler* zap, Monitor* monitor, bool with_peer,
                                      int64_t max_bytes, std::chrono::milliseconds timeout, bool* heard) {
  zmq::pollitem_t items[3];
  int n = 0;
  items[n++] = {static_cast<void*>(socket), 0, ZMQ_POLLIN, 0};
  const int zap_at = zap ? n++ : -1;
  if (zap) items[zap_at] = {static_cast<void*>(zap->socket()), 0, ZMQ_POLLIN, 0};
  const int monitor_at = monitor ? n++ : -1;
  if (monitor) items[monitor_at] = {static_cast<void*>(monitor->socket()), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(items, static_cast<size_t>(n), timeout) <= 0) return std::nullopt;
  if (zap && (items[zap_at].revents & ZMQ_POLLIN)) {
    if (auto ev = zap->Answer()) return ev;
  }
  if (monitor && (items[monitor_at].revents & ZMQ_POLLIN)) {
    if (auto ev = monitor->Read()) return ev;
  }
  if (items[0].revents & ZMQ_POLLIN) {
    TransportEvent ev = zmq_backend::ReadMessage(socket, with_peer, max_bytes);
    if (with_peer && ev.peer.empty()) return std::nullopt;
    if (heard) *heard = true;
    return ev;
  }
  return std::nullopt;
}

class ZmqServer final : public Transport {
 public:
  Status Bind(const std::string& endpoint, const TransportOptions& o) {
    try {
      if (o.security.curve) {
        if (!zmq_has("curve")) return Unavailable("this libzmq has no CURVE support");
        zap_ = std::make_unique<ZapHandler>(ctx_, o.security.clients);
      }
      socket_ = zmq::socket_t(ctx_, zmq::socket_type::router);
      zmq_backend::Configure(socket_, o);
      socket_.set(zmq::sockopt::router_mandatory, 1);  // a send to an unknown peer fails
      monitor_ = std::make_unique<Monitor>(ctx_, socket_, kHandshakeFailures);
      socket_.bind(endpoint);
      endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
      max_bytes_ = o.max_message_bytes;
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot bind " + endpoint + ": " + e.what());
    }
    return Status::Ok();
  }

  ~ZmqServer() override {
    monitor_.reset();  // before the socket it watches
  }

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override { return SendAll(socket_, &peer, frames); }

  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    try {
      return PollAll(socket_, zap_.get(), monitor_.get(), true, max_bytes_, timeout, &heard_from_peer_);
    } catch (const zmq::error_t& e) {
      return ReceiveFailed(e);
    }
  }

  std::string endpoint() const override { return endpoint_; }

  Status SetMaxMessageBytes(int64_t bytes) override {
    max_bytes_ = bytes;  // ReadMessage rejects larger messages without copying them
    // ZeroMQ copies socket options into the listener when it binds, so only a new bind
    // makes links drop a larger message unread. Unbinding also closes the links it
    // accepted: do it only while no peer has been heard from (at start-up).
    if (heard_from_peer_) return Status::Ok();
    try {
      socket_.set(zmq::sockopt::maxmsgsize, bytes);
      socket_.unbind(endpoint_);
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot apply the message limit on " + endpoint_ + ": " + e.what());
    }
    // The old listener closes in ZeroMQ's I/O thread: the port is free a moment later.
    std::string why;
    for (int attempt = 0; attempt < 100000; ++attempt) {
      try {
        socket_.bind(endpoint_);
        return Status::Ok();
      } catch (const zmq::error_t& e) {
        why = e.what();
        if (e.num() != EADDRINUSE) break;
      }
    }
    return Unavailable("cannot listen on " + endpoint_ + " again after changing the message limit: " + why);
  }

 private:
  zmq::context_t ctx_{1};
  std::unique_ptr<ZapHandler> zap_;
  zmq::socket_t socket_;
  std::unique_ptr<Monitor> monitor_;
  std::string endpoint_;
  int64_t max_bytes_ = 0;
  bool heard_from_peer_ = false;
};

class ZmqClient final : public Transport {
 public:
  Status Connect(const std::string& endpoint, const TransportOptions& o) {
    try {
      if (o.security.curve && !zmq_has("curve")) return Unavailable("this libzmq has no CURVE support");
      socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
      zmq_backend::Configure(socket_, o);
      monitor_ = std::make_unique<Monitor>(ctx_, socket_,
                                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | kHandshakeFailures |
                                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
      socket_.connect(endpoint);
      endpoint_ = endpoint;
      max_bytes_ = o.max_message_bytes;
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot connect to " + endpoint + ": " + e.what());
    }
    return Status::Ok();
  }

  ~ZmqClient() override { monitor_.reset(); }

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    if (!peer.empty()) return InvalidArgument("a client transport sends only to its server");
    return SendAll(socket_, nullptr, frames);
  }

  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    try {
      return PollAll(socket_, nullptr, monitor_.get(), false, max_bytes_, timeout, nullptr);
    } catch (const zmq::error_t& e) {
      return ReceiveFailed(e);
    }
  }

  std::string endpoint() const override { return endpoint_; }
  Status SetMaxMessageBytes(int64_t bytes) override {
    max_bytes_ = bytes;  // a client has no listener: its limit applies when reading
    return Status::Ok();
  }

 private:
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  std::unique_ptr<Monitor> monitor_;
  std::string endpoint_;
  int64_t max_bytes_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<Transport>> ListenZmq(const std::string& endpoint, const TransportOptions& options) {
  auto t = std::make_unique<ZmqServer>();
  FL_RETURN_IF_ERROR(t->Bind(endpoint, options));
  return std::unique_ptr<Transport>(std::move(t));
}

StatusOr<std::unique_ptr<Transport>> ConnectZmq(const std::string& endpoint, const TransportOptions& options) {
  auto t = std::make_unique<ZmqClient>();
  FL_RETURN_IF_ERROR(t->Connect(endpoint, options));
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace fl
