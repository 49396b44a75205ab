// The ZeroMQ backend's security: CURVE settings, the ZAP handler, and monitor events.
#include <atomic>
#include <cstring>

#include "fl/crypto.h"
#include "zmq_internal.h"

namespace fl::zmq_backend {
namespace {

std::string Bytes(const crypto::PublicKey& k) { return std::string(reinterpret_cast<const char*>(k.data()), k.size()); }

std::string Bytes(const crypto::SecretKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), crypto::kKeyBytes);
}

}  // namespace

void Configure(zmq::socket_t& s, const TransportOptions& o) {
  s.set(zmq::sockopt::linger, o.linger_ms);
  s.set(zmq::sockopt::sndtimeo, o.send_timeout_ms);
  s.set(zmq::sockopt::maxmsgsize, o.max_message_bytes);
  s.set(zmq::sockopt::sndhwm, 10000);
  s.set(zmq::sockopt::rcvhwm, 10000);
  if (o.security.curve) ConfigureCurve(s, o.security, s.get(zmq::sockopt::type) == ZMQ_ROUTER);
}

void ConfigureCurve(zmq::socket_t& s, const TransportSecurity& security, bool server) {
  std::string secret = Bytes(security.own.secret_key);
  s.set(zmq::sockopt::curve_secretkey, secret);
  crypto::Wipe(secret.data(), secret.size());
  s.set(zmq::sockopt::curve_publickey, Bytes(security.own.public_key));
  if (server) {
    s.set(zmq::sockopt::curve_server, 1);
    s.set(zmq::sockopt::zap_domain, std::string("fl"));
  } else {
    s.set(zmq::sockopt::curve_serverkey, Bytes(security.server_public));
  }
}

ZapHandler::ZapHandler(zmq::context_t& ctx, std::map<crypto::PublicKey, std::string> clients)
    : socket_(ctx, zmq::socket_type::rep), clients_(std::move(clients)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
}

std::optional<TransportEvent> ZapHandler::Answer() {
  // Request: version, request id, domain, address, identity, mechanism, credentials...
  std::vector<zmq::message_t> request;
  do {
    zmq::message_t f;
    if (!socket_.recv(f, zmq::recv_flags::dontwait)) break;
    if (request.size() < 16) request.push_back(std::move(f));
  } while (socket_.get(zmq::sockopt::rcvmore));
  std::string status = "400", text = "malformed request", user;
  std::optional<TransportEvent> refused;
  if (request.size() >= 7 && request[5].to_string() == "CURVE" && request[6].size() == crypto::kKeyBytes) {
    crypto::PublicKey key;
    std::memcpy(key.data(), request[6].data(), key.size());
    auto it = clients_.find(key);
    if (it != clients_.end()) {
      status = "200";
      text = "OK";
      user = it->second;
    } else {
      text = "key not in the roster";
      refused.emplace();
      refused->kind = TransportEvent::Kind::kRefused;
      refused->status = PermissionDenied("refused a connection from " + request[3].to_string() +
                                         ": its key is not in the roster (" +
                                         crypto::ToHex(key.data(), 8) + "...)");
    }
  }
  const std::string version = "1.0", id = request.size() > 1 ? request[1].to_string() : "";
  socket_.send(zmq::buffer(version), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(id), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(user), zmq::send_flags::sndmore);
  socket_.send(zmq::buffer(std::string()), zmq::send_flags::none);
  return refused;
}

Monitor::Monitor(zmq::context_t& ctx, zmq::socket_t& watched, int events) : watched_(&watched) {
  static std::atomic<uint64_t> next{0};
  const std::string address = "inproc://fl-monitor-" + std::to_string(next++);
  if (zmq_socket_monitor(watched.handle(), address.c_str(), events) != 0) throw zmq::error_t();
  socket_ = zmq::socket_t(ctx, zmq::socket_type::pair);
  socket_.set(zmq::sockopt::linger, 0);
  socket_.connect(address);
}

Monitor::~Monitor() {
  if (watched_ && *watched_) zmq_socket_monitor(watched_->handle(), nullptr, 0);
}

std::optional<TransportEvent> Monitor::Read() {
  // An event is two frames: 2 bytes of event id and 4 of value, then the peer's address.
  zmq::message_t head, address;
  if (!socket_.recv(head, zmq::recv_flags::dontwait)) return std::nullopt;
  if (head.more()) (void)socket_.recv(address, zmq::recv_flags::dontwait);
  if (head.size() < 6) return std::nullopt;
  uint16_t id = 0;
  uint32_t value = 0;
  std::memcpy(&id, head.data(), sizeof id);
  std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof value);
  TransportEvent ev;
  const std::string from = address.to_string();
  switch (id) {
    case ZMQ_EVENT_CONNECTED:
      ev.kind = TransportEvent::Kind::kConnected;
      return ev;
    case ZMQ_EVENT_DISCONNECTED:
      ev.kind = TransportEvent::Kind::kDisconnected;
      return ev;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
      ev.kind = TransportEvent::Kind::kRefused;
      ev.status = PermissionDenied("the handshake with " + from + " was refused (status " + std::to_string(value) +
                                   "): this key is not in the other side's allow-list");
      return ev;
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
      ev.kind = TransportEvent::Kind::kRefused;
      ev.status = PermissionDenied("the handshake with " + from +
                                   " failed: plain TCP against CURVE, or a key other than the pinned one");
      return ev;
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      // The link closed or timed out during the handshake: a server that cannot decrypt
      // our greeting (another key) hangs up, but so does a link that loses packets.
      ev.kind = TransportEvent::Kind::kRefused;
      ev.status = Unavailable("the handshake with " + from +
                              " failed: the link dropped or timed out, or plain TCP against CURVE, or a key other "
                              "than the pinned one");
      return ev;
    default:
      return std::nullopt;
  }
}

}  // namespace fl::zmq_backend
