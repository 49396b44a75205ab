// Internal to the ZeroMQ backend (zmq_transport.cc, zmq_security.cc): socket settings,
// CURVE, the ZAP handler that turns the allow-list into accept/refuse decisions, and the
// monitor that reports link and handshake events.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "fl/transport.h"

namespace fl::zmq_backend {

void Configure(zmq::socket_t& s, const TransportOptions& o);
// CURVE on `s` as a server (its key) or a client (its key and the pinned server key).
void ConfigureCurve(zmq::socket_t& s, const TransportSecurity& security, bool server);

// Answers ZeroMQ's authentication requests (RFC 27, ZAP) for the sockets of one context:
// a client key in the allow-list is accepted with its name as the user id; any other key
// is refused before the client can send a message.
class ZapHandler {
 public:
  ZapHandler(zmq::context_t& ctx, std::map<crypto::PublicKey, std::string> clients);
  zmq::socket_t& socket() { return socket_; }
  // Answers one request (the socket is readable); a refusal comes back as an event.
  std::optional<TransportEvent> Answer();

 private:
  zmq::socket_t socket_;
  std::map<crypto::PublicKey, std::string> clients_;
};

// Link and handshake events of one socket, through an in-process PAIR socket.
class Monitor {
 public:
  Monitor(zmq::context_t& ctx, zmq::socket_t& watched, int events);
  ~Monitor();
  zmq::socket_t& socket() { return socket_; }
  // Reads one event; nullopt for events nobody needs.
  std::optional<TransportEvent> Read();

 private:
  zmq::socket_t* watched_;
  zmq::socket_t socket_;
};

// Reads one multipart message that poll() announced (see zmq_transport.cc).
TransportEvent ReadMessage(zmq::socket_t& socket, bool with_peer, int64_t max_bytes);

}  // namespace fl::zmq_backend
