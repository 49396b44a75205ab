// CURVE on the ZeroMQ transport: an allow-listed client with the pinned server key talks
// and is authenticated by name; an unknown key, a wrong pinned key and plain TCP against
// a CURVE server are each refused during the handshake, before any message is read, and
// the refusal is reported as an event.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>

#include "fl/crypto.h"
#include "fl/transport.h"
#include "fl/zmq_transport.h"

using fl::Transport;
using fl::TransportEvent;
using fl::TransportOptions;
using namespace std::chrono_literals;

namespace {

const std::string kSession(16, '\x42');

struct Keys {
  fl::crypto::X25519KeyPair server = fl::crypto::GenerateX25519();
  fl::crypto::SigningKeyPair hospital = fl::crypto::GenerateSigningKey();
  fl::crypto::SigningKeyPair stranger = fl::crypto::GenerateSigningKey();
};

TransportOptions ServerOptions(const Keys& k) {
  TransportOptions o;
  o.linger_ms = 0;
  o.security.curve = true;
  o.security.own.public_key = k.server.public_key;
  o.security.own.secret_key = k.server.secret_key;
  o.security.clients[fl::crypto::X25519FromSigningPublic(k.hospital.public_key).value()] = "hospital-a";
  return o;
}

TransportOptions ClientOptions(const fl::crypto::SigningKeyPair& identity, const fl::crypto::PublicKey& pinned) {
  TransportOptions o;
  o.linger_ms = 0;
  o.security.curve = true;
  auto own = fl::crypto::X25519FromSigningKey(identity);
  REQUIRE(own.ok());
  o.security.own.public_key = own->public_key;
  o.security.own.secret_key = own->secret_key;
  o.security.server_public = pinned;
  return o;
}

fl::Message Hello() {
  fl::wire::Hello h;
  h.set_name("hospital-a");
  return fl::MakeMessage(fl::wire::HELLO, "", 0, 0, &h);
}

// Events of `kind` (others skipped) within `within`.
std::optional<TransportEvent> Await(Transport& t, TransportEvent::Kind kind, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = t.Receive(50ms);
    if (ev && ev->kind == kind) return ev;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("zmq security: an allow-listed client is authenticated by name", "[transport][curve]") {
  REQUIRE(fl::crypto::Init().ok());
  Keys k;
  auto server = fl::ListenZmq("tcp://127.0.0.1:0", ServerOptions(k));
  REQUIRE(server.ok());
  auto client = fl::ConnectZmq((*server)->endpoint(), ClientOptions(k.hospital, k.server.public_key));
  REQUIRE(client.ok());
  REQUIRE((*client)->Send(fl::kServerPeer, Hello()).ok());
  auto in = Await(**server, TransportEvent::Kind::kMessage, 5000ms);
  REQUIRE(in);
  CHECK(in->authenticated_name == "hospital-a");
  REQUIRE((*server)->Send(in->peer, Hello()).ok());
  CHECK(Await(**client, TransportEvent::Kind::kMessage, 5000ms));
}

TEST_CASE("zmq security: an unknown key is refused in the handshake", "[transport][curve]") {
  REQUIRE(fl::crypto::Init().ok());
  Keys k;
  auto server = fl::ListenZmq("tcp://127.0.0.1:0", ServerOptions(k));
  REQUIRE(server.ok());
  auto client = fl::ConnectZmq((*server)->endpoint(), ClientOptions(k.stranger, k.server.public_key));
  REQUIRE(client.ok());
  REQUIRE((*client)->Send(fl::kServerPeer, Hello()).ok());
  auto refused = Await(**server, TransportEvent::Kind::kRefused, 5000ms);
  REQUIRE(refused);
  CHECK_THAT(refused->status.message(), Catch::Contains("not in the roster"));
  CHECK(Await(**client, TransportEvent::Kind::kRefused, 5000ms));
  CHECK_FALSE(Await(**server, TransportEvent::Kind::kMessage, 300ms));
}

TEST_CASE("zmq security: a client pinning another server key gets nowhere", "[transport][curve]") {
  REQUIRE(fl::crypto::Init().ok());
  Keys k;
  const auto impostor = fl::crypto::GenerateX25519();
  auto server = fl::ListenZmq("tcp://127.0.0.1:0", ServerOptions(k));
  REQUIRE(server.ok());
  auto client = fl::ConnectZmq((*server)->endpoint(), ClientOptions(k.hospital, impostor.public_key));
  REQUIRE(client.ok());
  REQUIRE((*client)->Send(fl::kServerPeer, Hello()).ok());
  CHECK(Await(**server, TransportEvent::Kind::kRefused, 5000ms));
  CHECK_FALSE(Await(**server, TransportEvent::Kind::kMessage, 300ms));
}

TEST_CASE("zmq security: plain TCP against a CURVE server is refused", "[transport][curve]") {
  REQUIRE(fl::crypto::Init().ok());
  Keys k;
  auto server = fl::ListenZmq("tcp://127.0.0.1:0", ServerOptions(k));
  REQUIRE(server.ok());
  TransportOptions plain;
  plain.linger_ms = 0;
  auto client = fl::ConnectZmq((*server)->endpoint(), plain);
  REQUIRE(client.ok());
  REQUIRE((*client)->Send(fl::kServerPeer, Hello()).ok());
  CHECK(Await(**server, TransportEvent::Kind::kRefused, 5000ms));
  CHECK_FALSE(Await(**server, TransportEvent::Kind::kMessage, 300ms));
}
