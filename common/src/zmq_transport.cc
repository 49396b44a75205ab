#include "fl/zmq_transport.h"

#include <atomic>
#include <cstring>
#include <vector>

#include <zmq.hpp>

namespace fl {
namespace {

void Configure(zmq::socket_t& s, const TransportOptions& o) {
  s.set(zmq::sockopt::linger, o.linger_ms);
  s.set(zmq::sockopt::sndtimeo, o.send_timeout_ms);
  s.set(zmq::sockopt::maxmsgsize, o.max_message_bytes);
  s.set(zmq::sockopt::sndhwm, 10000);
  s.set(zmq::sockopt::rcvhwm, 10000);
}

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

// Reads one multipart message that poll() announced. The number of frames kept is bounded
// before they are buffered, so a peer cannot make us hold an unbounded list of them, and a
// message above `max_bytes` (a link made before the limit was lowered) is not copied.
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
      bytes += static_cast<int64_t>(f.size());
      if (++count <= 2 + kMaxPayloadFrames && bytes <= max_bytes) frames.emplace_back(f.data(), f.size());
    }
    first = false;
  } while (socket.get(zmq::sockopt::rcvmore));
  if (bytes > max_bytes) {
    ev.kind = TransportEvent::Kind::kRejected;
    ev.status = InvalidArgument("message of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                std::to_string(max_bytes));
    return ev;
  }
  if (count > frames.size()) {
    ev.kind = TransportEvent::Kind::kRejected;
    ev.status = InvalidArgument("message with " + std::to_string(count) + " frames");
    return ev;
  }
  StatusOr<Message> m = DecodeFrames(std::move(frames));
  if (!m.ok()) {
    ev.kind = TransportEvent::Kind::kRejected;
    ev.status = m.status();
    return ev;
  }
  ev.kind = TransportEvent::Kind::kMessage;
  ev.message = std::move(m).value();
  return ev;
}

class ZmqServer final : public Transport {
 public:
  Status Bind(const std::string& endpoint, const TransportOptions& o) {
    try {
      socket_ = zmq::socket_t(ctx_, zmq::socket_type::router);
      Configure(socket_, o);
      socket_.set(zmq::sockopt::router_mandatory, 1);  // a send to an unknown peer fails
      socket_.bind(endpoint);
      endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
      max_bytes_ = o.max_message_bytes;
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot bind " + endpoint + ": " + e.what());
    }
    return Status::Ok();
  }

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    return SendAll(socket_, &peer, frames);
  }

  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    try {
      zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
      if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
      TransportEvent ev = ReadMessage(socket_, /*with_peer=*/true, max_bytes_);
      if (ev.peer.empty()) return std::nullopt;
      heard_from_peer_ = true;
      return ev;
    } catch (const zmq::error_t& e) {
      TransportEvent ev;
      ev.kind = TransportEvent::Kind::kRejected;
      ev.status = Unavailable(std::string("receive failed: ") + e.what());
      return ev;
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
  zmq::socket_t socket_;
  std::string endpoint_;
  int64_t max_bytes_ = 0;
  bool heard_from_peer_ = false;
};

class ZmqClient final : public Transport {
 public:
  Status Connect(const std::string& endpoint, const TransportOptions& o) {
    static std::atomic<uint64_t> next_monitor{0};
    try {
      socket_ = zmq::socket_t(ctx_, zmq::socket_type::dealer);
      Configure(socket_, o);
      // Link events come from a monitor on an in-process PAIR socket.
      const std::string monitor = "inproc://fl-monitor-" + std::to_string(next_monitor++);
      if (zmq_socket_monitor(socket_.handle(), monitor.c_str(), ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) != 0) {
        return Internal("cannot monitor the connection to " + endpoint);
      }
      monitor_ = zmq::socket_t(ctx_, zmq::socket_type::pair);
      monitor_.set(zmq::sockopt::linger, 0);
      monitor_.connect(monitor);
      socket_.connect(endpoint);
      endpoint_ = endpoint;
      max_bytes_ = o.max_message_bytes;
    } catch (const zmq::error_t& e) {
      return Unavailable("cannot connect to " + endpoint + ": " + e.what());
    }
    return Status::Ok();
  }

  ~ZmqClient() override {
    if (socket_) zmq_socket_monitor(socket_.handle(), nullptr, 0);
  }

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    if (!peer.empty()) return InvalidArgument("a client transport sends only to its server");
    return SendAll(socket_, nullptr, frames);
  }

  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    try {
      zmq::pollitem_t items[2] = {{static_cast<void*>(monitor_), 0, ZMQ_POLLIN, 0},
                                  {static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0}};
      if (zmq::poll(items, 2, timeout) <= 0) return std::nullopt;
      if (items[0].revents & ZMQ_POLLIN) {
        if (auto ev = ReadLinkEvent()) return ev;
      }
      if (items[1].revents & ZMQ_POLLIN) return ReadMessage(socket_, /*with_peer=*/false, max_bytes_);
      return std::nullopt;
    } catch (const zmq::error_t& e) {
      TransportEvent ev;
      ev.kind = TransportEvent::Kind::kRejected;
      ev.status = Unavailable(std::string("receive failed: ") + e.what());
      return ev;
    }
  }

  std::string endpoint() const override { return endpoint_; }
  Status SetMaxMessageBytes(int64_t bytes) override {
    max_bytes_ = bytes;  // a client has no listener: its limit applies when reading
    return Status::Ok();
  }

 private:
  // A monitor event is two frames: 2 bytes of event id and 4 of value, then the address.
  std::optional<TransportEvent> ReadLinkEvent() {
    zmq::message_t head, address;
    if (!monitor_.recv(head, zmq::recv_flags::dontwait)) return std::nullopt;
    if (head.more()) (void)monitor_.recv(address, zmq::recv_flags::dontwait);
    if (head.size() < 2) return std::nullopt;
    uint16_t id = 0;
    std::memcpy(&id, head.data(), sizeof id);
    TransportEvent ev;
    if (id == ZMQ_EVENT_CONNECTED) {
      ev.kind = TransportEvent::Kind::kConnected;
    } else if (id == ZMQ_EVENT_DISCONNECTED) {
      ev.kind = TransportEvent::Kind::kDisconnected;
    } else {
      return std::nullopt;
    }
    return ev;
  }

  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  zmq::socket_t monitor_;
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
