// How messages move between the coordinator and the workers, whatever carries them.
//
// A server transport (the coordinator's) talks to many peers, each named by a PeerId the
// transport chooses; a client transport (a worker's) talks to one server, whose PeerId is
// kServerPeer. Messages travel as frames (fl/frame.h) and every received list of frames is
// checked by DecodeFrames (fl/wire.h) before it is returned, so a malformed message is
// reported as a rejection, never handed on. Backends:
//   - ZeroMQ (ROUTER/DEALER over tcp:// or ipc://): fl/zmq_transport.h, the only place a
//     ZeroMQ type appears;
//   - in-process (no sockets, for tests that run a federation in one process):
//     fl/inproc_transport.h.
// tests/unit/test_transport_conformance.cc runs one suite against every backend.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fl/crypto.h"
#include "fl/frame.h"
#include "fl/status.h"
#include "fl/wire.h"

namespace fl {

using PeerId = std::string;
inline const PeerId kServerPeer;  // the one peer of a client transport

// Encryption and authentication of every link (ZeroMQ CURVE: X25519 key agreement, then
// authenticated encryption of every frame). Without it a link is plain TCP.
struct TransportSecurity {
  bool curve = false;
  crypto::X25519KeyPair own;         // the server's long-term key; a client's (from its identity)
  crypto::PublicKey server_public{};  // client: the pinned server key; any other is refused
  // Server: the allow-list, client transport key -> the name it authenticates (every
  // other key is refused during the handshake, before a single message is read).
  std::map<crypto::PublicKey, std::string> clients;
};

struct TransportOptions {
  // Largest inbound message (all frames together) in bytes; bigger ones are dropped
  // before they are read.
  int64_t max_message_bytes = int64_t{1} << 31;
  int send_timeout_ms = 10000;
  int linger_ms = 2000;
  TransportSecurity security;
};

struct TransportEvent {
  enum class Kind {
    kMessage,       // `message` from `peer`
    kRejected,      // `peer` sent frames that do not form a valid message: `status` says why
    kConnected,     // the link to `peer` is up (client side: to the server)
    kDisconnected,  // the link to `peer` is down (client side: the server is gone)
    kRefused,       // a handshake failed or was refused (unknown key, wrong server key,
                    // plain TCP against CURVE): `status` says why; no message was read.
                    // kUnavailable: the link closed or timed out mid-handshake, which a
                    // lossy link can cause too; any other code is definitive
  };
  Kind kind = Kind::kMessage;
  PeerId peer;
  Status status;
  Message message;
  // kMessage over an authenticated link: the name the server's allow-list gives the
  // sender's key. Empty on a plain link.
  std::string authenticated_name;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends `m` to `peer` (kServerPeer on a client); fails (Unavailable) when the peer is
  // unknown or gone, or the send times out.
  Status Send(const PeerId& peer, Message m) { return SendFrames(peer, EncodeFrames(std::move(m))); }
  // Sends already-encoded frames as one message.
  virtual Status SendFrames(const PeerId& peer, std::vector<Frame> frames) = 0;
  // Waits up to `timeout` for the next event; nullopt when none came.
  virtual std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) = 0;
  // The endpoint bound or connected to (a server bound to port 0 reports the real port).
  virtual std::string endpoint() const = 0;
  // The largest inbound message accepted from now on (all frames together). A larger one
  // is dropped unread where the backend can (ZeroMQ: only when set before any peer was
  // heard from, e.g. at start-up; it binds again) and otherwise rejected without being
  // copied. An error means the transport could not apply it.
  virtual Status SetMaxMessageBytes(int64_t bytes) = 0;
};

}  // namespace fl
