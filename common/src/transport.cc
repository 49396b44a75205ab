#include "fl/transport.h"

#include <vector>

namespace fl {
namespace {

Status SendFrames(zmq::socket_t& socket, const std::string* peer, Message& m) {
  try {
    m.envelope.set_payload_frames(static_cast<uint32_t>(m.payload.size()));
    const std::string env = m.envelope.SerializeAsString();
    if (peer) {
      if (!socket.send(zmq::buffer(*peer), zmq::send_flags::sndmore)) return Unavailable("send timed out");
    }
    auto more = m.payload.empty() ? zmq::send_flags::none : zmq::send_flags::sndmore;
    if (!socket.send(zmq::buffer(env), more)) return Unavailable("send timed out");
    for (size_t i = 0; i < m.payload.size(); ++i) {
      more = i + 1 < m.payload.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      if (!socket.send(m.payload[i], more)) return Unavailable("send timed out");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return Unavailable(std::string("send failed: ") + e.what());
  }
}

// Reads one multipart message; `with_peer` strips the ROUTER's routing-id frame.
std::optional<Incoming> ReceiveFrames(zmq::socket_t& socket, int timeout_ms, bool with_peer) {
  try {
    zmq::pollitem_t item{static_cast<void*>(socket), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return std::nullopt;
    std::vector<zmq::message_t> frames;
    do {
      zmq::message_t f;
      if (!socket.recv(f, zmq::recv_flags::dontwait)) break;
      // Bound the frame count before buffering more: a peer cannot make us hold
      // an unbounded list of frames.
      if (frames.size() < 2 + kMaxPayloadFrames) frames.push_back(std::move(f));
      else frames.emplace_back();
    } while (socket.get(zmq::sockopt::rcvmore));

    Incoming in;
    size_t first = 0;
    if (with_peer) {
      if (frames.empty()) return std::nullopt;
      in.peer = frames[0].to_string();
      first = 1;
    }
    if (frames.size() <= first) {
      in.status = InvalidArgument("message without an envelope frame");
      return in;
    }
    if (frames.size() > first + 1 + kMaxPayloadFrames) {
      in.status = InvalidArgument("message with " + std::to_string(frames.size() - first) + " frames");
      return in;
    }
    StatusOr<wire::Envelope> env = ParseEnvelope(frames[first].data(), frames[first].size());
    if (!env.ok()) {
      in.status = env.status();
      return in;
    }
    in.message.envelope = std::move(env).value();
    const size_t payloads = frames.size() - first - 1;
    if (payloads != in.message.envelope.payload_frames()) {
      in.status = InvalidArgument("envelope announces " +
                                  std::to_string(in.message.envelope.payload_frames()) +
                                  " payload frames, got " + std::to_string(payloads));
      return in;
    }
    for (size_t i = first + 1; i < frames.size(); ++i) in.message.payload.push_back(std::move(frames[i]));
    return in;
  } catch (const zmq::error_t& e) {
    Incoming in;
    in.status = Unavailable(std::string("receive failed: ") + e.what());
    return in;
  }
}

void Configure(zmq::socket_t& s, const TransportOptions& o) {
  s.set(zmq::sockopt::linger, o.linger_ms);
  s.set(zmq::sockopt::sndtimeo, o.send_timeout_ms);
  s.set(zmq::sockopt::maxmsgsize, o.max_message_bytes);
  s.set(zmq::sockopt::sndhwm, 10000);
  s.set(zmq::sockopt::rcvhwm, 10000);
}

}  // namespace

StatusOr<std::unique_ptr<RouterEndpoint>> RouterEndpoint::Bind(const std::string& endpoint,
                                                               const TransportOptions& options) {
  std::unique_ptr<RouterEndpoint> r(new RouterEndpoint());
  try {
    r->socket_ = zmq::socket_t(r->ctx_, zmq::socket_type::router);
    Configure(r->socket_, options);
    r->socket_.set(zmq::sockopt::router_mandatory, 1);
    r->socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot bind " + endpoint + ": " + e.what());
  }
  return r;
}

std::string RouterEndpoint::bound_endpoint() const {
  return socket_.get(zmq::sockopt::last_endpoint);
}

Status RouterEndpoint::Send(const std::string& peer, Message message) {
  return SendFrames(socket_, &peer, message);
}

std::optional<Incoming> RouterEndpoint::Receive(int timeout_ms) {
  return ReceiveFrames(socket_, timeout_ms, /*with_peer=*/true);
}

StatusOr<std::unique_ptr<DealerEndpoint>> DealerEndpoint::Connect(const std::string& endpoint,
                                                                  const TransportOptions& options) {
  std::unique_ptr<DealerEndpoint> d(new DealerEndpoint());
  try {
    d->socket_ = zmq::socket_t(d->ctx_, zmq::socket_type::dealer);
    Configure(d->socket_, options);
    d->socket_.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot connect to " + endpoint + ": " + e.what());
  }
  return d;
}

Status DealerEndpoint::Send(Message message) { return SendFrames(socket_, nullptr, message); }

std::optional<Incoming> DealerEndpoint::Receive(int timeout_ms) {
  return ReceiveFrames(socket_, timeout_ms, /*with_peer=*/false);
}

}  // namespace fl
