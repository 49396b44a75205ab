// Admission by the coordinator's worker registry, against a transport that records what the
// registry sends.
#include <catch2/catch.hpp>

#include "fl/transport.h"
#include "fl/wire.h"
#include "mem_env.h"
#include "metrics.h"
#include "options.h"
#include "worker_registry.h"

using namespace fl;
using namespace fl::coordinator;

namespace {

class RecordingTransport : public Transport {
 public:
  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    StatusOr<Message> m = DecodeFrames(std::move(frames));
    REQUIRE(m.ok());
    sent.emplace_back(peer, std::move(m).value());
    return Status::Ok();
  }
  std::optional<TransportEvent> Receive(std::chrono::milliseconds) override { return std::nullopt; }
  std::string endpoint() const override { return "recording"; }
  Status SetMaxMessageBytes(int64_t) override { return Status::Ok(); }

  // The worker ids of the WELCOMEs sent to `peer`, in order.
  std::vector<uint32_t> Welcomes(const PeerId& peer) const {
    std::vector<uint32_t> ids;
    for (const auto& [to, m] : sent) {
      wire::Welcome w;
      if (to == peer && m.type() == wire::WELCOME && UnpackBody(m, &w).ok()) ids.push_back(w.worker_id());
    }
    return ids;
  }

  std::vector<std::pair<PeerId, Message>> sent;
};

Message Hello(const std::string& name) {
  wire::Hello h;
  h.set_name(name);
  h.set_protocol_version(kProtocolVersion);
  return MakeMessage(wire::HELLO, "", 0, 0, &h);
}

struct Registry {
  Registry() { options.transport_security = "insecure"; }
  RecordingTransport transport;
  testing::MemEnv env;
  CoordinatorOptions options;
  CoordinatorMetrics metrics{env};
  std::string session = std::string(kSessionIdBytes, 's');
  WorkerRegistry registry{transport, env, options, nullptr, session, metrics};
};

}  // namespace

TEST_CASE("worker registry: a HELLO repeated before the worker spoke is welcomed with the same id") {
  // On a lossy link the worker asks again before the first WELCOME arrives; every copy of
  // the answer must name the record the coordinator keeps, or the worker speaks as an id
  // the coordinator has already dropped.
  Registry r;
  for (int i = 0; i < 4; ++i) r.registry.Admit("peer-a", Hello("hospital-a"), "");
  CHECK(r.transport.Welcomes("peer-a") == std::vector<uint32_t>{1, 1, 1, 1});
  REQUIRE(r.registry.alive_count() == 1);
  CHECK(r.registry.FindByPeer("peer-a")->id == 1);
}

TEST_CASE("worker registry: a HELLO after the worker spoke admits it afresh") {
  // A worker that lost its session says HELLO again: its old record makes way.
  Registry r;
  r.registry.Admit("peer-a", Hello("hospital-a"), "");
  r.registry.Touch(*r.registry.Find(1));
  r.registry.Admit("peer-a", Hello("hospital-a"), "");
  CHECK(r.transport.Welcomes("peer-a") == std::vector<uint32_t>{1, 2});
  CHECK_FALSE(r.registry.Find(1)->alive);
  CHECK(r.registry.Find(2)->alive);
  CHECK(r.registry.alive_count() == 1);
}

TEST_CASE("worker registry: a second link with a name already connected is told to retry") {
  Registry r;
  r.registry.Admit("peer-a", Hello("hospital-a"), "");
  r.registry.Admit("peer-b", Hello("hospital-a"), "");
  CHECK(r.transport.Welcomes("peer-b").empty());
  CHECK(r.registry.alive_count() == 1);
}
