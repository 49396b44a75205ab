// One suite for every transport backend (fl/transport.h): ZeroMQ over tcp and ipc, and
// in-process. Each backend must deliver messages in order with their exact frames, reject
// malformed frame lists with a reason and keep working, drop messages above the
// receiver's size limit, fail a send to a peer that is gone, tell a client when its
// server vanishes, and serve many peers at once.
#include <catch2/catch.hpp>

#include <sodium.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fl/crypto.h"
#include "fl/inproc_transport.h"
#include "fl/transport.h"
#include "fl/zmq_transport.h"

using Catch::Matchers::Contains;
using fl::Frame;
using fl::Message;
using fl::Transport;
using fl::TransportEvent;
using fl::TransportOptions;
namespace wire = fl::wire;
using namespace std::chrono_literals;

namespace {

const std::string kSession(16, '\x42');

TransportOptions Fast() {
  TransportOptions o;
  o.linger_ms = 0;
  o.send_timeout_ms = 2000;
  return o;
}

struct ZmqTcp {
  std::unique_ptr<Transport> Listen(const TransportOptions& o = Fast()) {
    auto t = fl::ListenZmq("tcp://127.0.0.1:0", o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
  std::unique_ptr<Transport> Connect(const Transport& server, const TransportOptions& o = Fast()) {
    auto t = fl::ConnectZmq(server.endpoint(), o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
};

struct ZmqIpc {
  std::string path;
  ZmqIpc() {
    REQUIRE(fl::crypto::Init().ok());
    path = "ipc:///tmp/fl-conformance-" + std::to_string(randombytes_random()) + ".sock";
  }
  std::unique_ptr<Transport> Listen(const TransportOptions& o = Fast()) {
    auto t = fl::ListenZmq(path, o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
  std::unique_ptr<Transport> Connect(const Transport& server, const TransportOptions& o = Fast()) {
    auto t = fl::ConnectZmq(server.endpoint(), o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
};

struct InProc {
  fl::InProcNetwork net;
  std::unique_ptr<Transport> Listen(const TransportOptions& o = Fast()) {
    auto t = net.Listen("coordinator", o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
  std::unique_ptr<Transport> Connect(const Transport&, const TransportOptions& o = Fast()) {
    auto t = net.Connect("coordinator", o);
    REQUIRE(t.ok());
    return std::move(t).value();
  }
};

Message Numbered(uint32_t n, std::vector<size_t> payload_sizes = {}) {
  wire::Abort body;
  body.set_reason("message " + std::to_string(n));
  Message m = fl::MakeMessage(wire::ABORT, kSession, n, 7, &body);
  for (size_t size : payload_sizes) {
    Frame f(size);
    for (size_t i = 0; i < size; ++i) static_cast<uint8_t*>(f.data())[i] = static_cast<uint8_t>(i * 31 + n);
    m.payload.push_back(std::move(f));
  }
  return m;
}

// The next message or rejection, skipping link events (which only some backends send).
std::optional<TransportEvent> Next(Transport& t, std::chrono::milliseconds within = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = t.Receive(50ms);
    if (ev && (ev->kind == TransportEvent::Kind::kMessage || ev->kind == TransportEvent::Kind::kRejected)) return ev;
  }
  return std::nullopt;
}

bool SawLinkEvent(Transport& t, TransportEvent::Kind kind, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = t.Receive(50ms);
    if (ev && ev->kind == kind) return true;
  }
  return false;
}

}  // namespace

TEMPLATE_TEST_CASE("transport: a message goes both ways with its exact frames", "[transport]", ZmqTcp, ZmqIpc,
                   InProc) {
  TestType backend;
  auto server = backend.Listen();
  auto client = backend.Connect(*server);
  REQUIRE(client->Send(fl::kServerPeer, Numbered(3, {0, 4099})).ok());
  auto in = Next(*server);
  REQUIRE(in);
  REQUIRE(in->kind == TransportEvent::Kind::kMessage);
  CHECK_FALSE(in->peer.empty());
  CHECK(in->message.type() == wire::ABORT);
  CHECK(in->message.round() == 3);
  CHECK(in->message.envelope.sender() == 7);
  REQUIRE(in->message.payload.size() == 2);
  const Message expected = Numbered(3, {0, 4099});
  for (size_t i = 0; i < 2; ++i) CHECK(in->message.payload[i].bytes() == expected.payload[i].bytes());
  wire::Abort body;
  REQUIRE(fl::UnpackBody(in->message, &body).ok());
  CHECK(body.reason() == "message 3");

  REQUIRE(server->Send(in->peer, Numbered(4, {16})).ok());
  auto back = Next(*client);
  REQUIRE(back);
  REQUIRE(back->kind == TransportEvent::Kind::kMessage);
  CHECK(back->peer == fl::kServerPeer);
  CHECK(back->message.round() == 4);
  CHECK(back->message.payload.at(0).size() == 16);

  CHECK_FALSE(server->Send("no-such-peer", Numbered(5)).ok());
  CHECK_FALSE(client->Send("someone-else", Numbered(5)).ok());
}

TEMPLATE_TEST_CASE("transport: messages arrive in the order sent, sizes exact", "[transport]", ZmqTcp, ZmqIpc,
                   InProc) {
  TestType backend;
  auto server = backend.Listen();
  auto client = backend.Connect(*server);
  const std::vector<size_t> sizes = {0, 1, 3, 4, 65536, 1 << 20};
  for (uint32_t n = 1; n <= 200; ++n) {
    REQUIRE(client->Send(fl::kServerPeer, Numbered(n, {sizes[n % sizes.size()]})).ok());
  }
  for (uint32_t n = 1; n <= 200; ++n) {
    auto in = Next(*server);
    REQUIRE(in);
    REQUIRE(in->kind == TransportEvent::Kind::kMessage);
    CHECK(in->message.round() == n);
    CHECK(in->message.payload.at(0).size() == sizes[n % sizes.size()]);
  }
}

TEMPLATE_TEST_CASE("transport: Receive waits for its timeout and returns nothing", "[transport]", ZmqTcp, ZmqIpc,
                   InProc) {
  TestType backend;
  auto server = backend.Listen();
  const auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(server->Receive(60ms).has_value());
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(waited >= 50ms);
  CHECK(waited < 2000ms);
}

TEMPLATE_TEST_CASE("transport: malformed frame lists are rejected with a reason, then work goes on", "[transport]",
                   ZmqTcp, ZmqIpc, InProc) {
  TestType backend;
  auto server = backend.Listen();
  auto client = backend.Connect(*server);
  std::vector<Frame> valid = fl::EncodeFrames(Numbered(1, {16}));  // announces 1 payload frame
  Message zero_m = Numbered(2);
  const Frame zero = fl::EncodeFrames(std::move(zero_m))[0];       // announces none
  wire::Envelope v9 = Numbered(3).envelope;
  v9.set_version(9);
  const Frame payload(size_t{16});
  struct Case {
    const char* name;
    std::vector<Frame> frames;
    const char* needle;
  };
  const std::vector<Case> cases = {
      {"garbage", {Frame(std::string("this is not a protobuf"))}, "does not parse"},
      {"empty envelope", {Frame()}, "empty envelope"},
      {"missing payload", {valid[0]}, "announces 1 payload frames, got 0"},
      {"extra payload", {zero, payload}, "announces 0 payload frames, got 1"},
      {"ten frames", std::vector<Frame>(10, zero), "message with 10 frames"},
      {"four frames", {valid[0], payload, payload, payload}, "message with 4 frames"},
      {"bad version", {Frame(v9.SerializeAsString())}, "protocol version 9"},
  };
  std::string peer;
  for (const Case& c : cases) {
    INFO("case: " << c.name);
    REQUIRE(client->SendFrames(fl::kServerPeer, c.frames).ok());
    auto in = Next(*server);
    REQUIRE(in);
    CHECK(in->kind == TransportEvent::Kind::kRejected);
    CHECK(in->status.code() == fl::StatusCode::kInvalidArgument);
    CHECK_THAT(in->status.message(), Contains(c.needle));
    CHECK(in->message.payload.empty());
    if (peer.empty()) peer = in->peer;
    CHECK(in->peer == peer);  // the rejection names the sender
    REQUIRE(client->SendFrames(fl::kServerPeer, valid).ok());
    auto ok = Next(*server);
    REQUIRE(ok);
    CHECK(ok->kind == TransportEvent::Kind::kMessage);
    CHECK(ok->peer == peer);
    CHECK(ok->message.payload.size() == 1);
  }
  CHECK_FALSE(Next(*server, 100ms));  // nothing left over
}

TEMPLATE_TEST_CASE("transport: a message above the receiver's limit is dropped unread", "[transport]", ZmqTcp,
                   ZmqIpc, InProc) {
  TestType backend;
  TransportOptions small = Fast();
  small.max_message_bytes = 4096;
  auto server = backend.Listen(small);
  {
    auto big = backend.Connect(*server);
    REQUIRE(big->Send(fl::kServerPeer, Numbered(1, {16000})).ok());
    CHECK_FALSE(Next(*server, 300ms));
  }
  auto client = backend.Connect(*server);
  REQUIRE(client->Send(fl::kServerPeer, Numbered(2, {40})).ok());
  auto in = Next(*server);
  REQUIRE(in);
  CHECK(in->kind == TransportEvent::Kind::kMessage);
  CHECK(in->message.payload.at(0).size() == 40);
}

TEMPLATE_TEST_CASE("transport: a vanished peer is noticed on both sides", "[transport]", ZmqTcp, ZmqIpc, InProc) {
  TestType backend;
  auto server = backend.Listen();
  fl::PeerId peer;
  {
    auto client = backend.Connect(*server);
    REQUIRE(client->Send(fl::kServerPeer, Numbered(1)).ok());
    auto in = Next(*server);
    REQUIRE(in);
    peer = in->peer;
    REQUIRE(server->Send(peer, Numbered(2)).ok());
  }
  // The client is gone: sends to it fail once the server has noticed.
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    failed = !server->Send(peer, Numbered(3)).ok();
    if (!failed) std::this_thread::sleep_for(20ms);
  }
  CHECK(failed);

  // The server is gone: its client is told.
  auto client = backend.Connect(*server);
  CHECK(SawLinkEvent(*client, TransportEvent::Kind::kConnected, 3000ms));
  server.reset();
  CHECK(SawLinkEvent(*client, TransportEvent::Kind::kDisconnected, 3000ms));
}

TEMPLATE_TEST_CASE("transport: many peers at once, each answered on its own link", "[transport]", ZmqTcp, ZmqIpc,
                   InProc) {
  TestType backend;
  auto server = backend.Listen();
  constexpr int kClients = 40, kEach = 5;
  std::vector<std::unique_ptr<Transport>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(backend.Connect(*server));
  for (int i = 0; i < kEach; ++i) {
    for (int c = 0; c < kClients; ++c) {
      REQUIRE(clients[c]->Send(fl::kServerPeer, Numbered(static_cast<uint32_t>(c * 100 + i))).ok());
    }
  }
  std::map<fl::PeerId, std::vector<uint32_t>> by_peer;
  for (int n = 0; n < kClients * kEach; ++n) {
    auto in = Next(*server);
    REQUIRE(in);
    REQUIRE(in->kind == TransportEvent::Kind::kMessage);
    by_peer[in->peer].push_back(in->message.round());
  }
  REQUIRE(by_peer.size() == static_cast<size_t>(kClients));
  for (const auto& [peer, rounds] : by_peer) {
    const uint32_t c = rounds.front() / 100;
    for (int i = 0; i < kEach; ++i) CHECK(rounds[i] == c * 100 + static_cast<uint32_t>(i));  // per-peer order
    REQUIRE(server->Send(peer, Numbered(c)).ok());
  }
  for (int c = 0; c < kClients; ++c) {
    auto in = Next(*clients[c]);
    REQUIRE(in);
    CHECK(in->message.round() == static_cast<uint32_t>(c));
  }
}

TEMPLATE_TEST_CASE("transport: a lowered limit keeps larger messages out, and links up", "[transport]", ZmqTcp,
                   ZmqIpc, InProc) {
  TestType backend;
  auto server = backend.Listen();
  REQUIRE(server->SetMaxMessageBytes(4096).ok());  // at start-up, before any peer
  auto early = backend.Connect(*server);
  REQUIRE(early->Send(fl::kServerPeer, Numbered(1, {100})).ok());
  auto first = Next(*server);
  REQUIRE(first);
  CHECK(first->kind == TransportEvent::Kind::kMessage);
  // Lowered again once a peer is up: its link stays up, a larger message never arrives.
  REQUIRE(server->SetMaxMessageBytes(2048).ok());
  REQUIRE(early->Send(fl::kServerPeer, Numbered(2, {3000})).ok());
  auto big = Next(*server, 500ms);
  CHECK((!big || big->kind == TransportEvent::Kind::kRejected));
  REQUIRE(server->Send(first->peer, Numbered(9)).ok());
  auto reply = Next(*early);
  REQUIRE(reply);
  CHECK(reply->message.round() == 9);
  auto late = backend.Connect(*server);
  REQUIRE(late->Send(fl::kServerPeer, Numbered(2, {20000})).ok());
  auto dropped = Next(*server, 500ms);
  CHECK((!dropped || dropped->kind == TransportEvent::Kind::kRejected));  // never delivered
  auto small = backend.Connect(*server);
  REQUIRE(small->Send(fl::kServerPeer, Numbered(3, {100})).ok());
  auto in = Next(*server);
  REQUIRE(in);
  CHECK(in->kind == TransportEvent::Kind::kMessage);
  CHECK(in->message.round() == 3);
}
