// Contributors' RoundParticipants through a TIES window against a coordinator driven by
// hand (secagg::SecAggServer and the messages in between), so that it can deviate: after
// the vector round, an agreement round that relabels the hospitals behind the worker ids,
// or announces fewer survivors than the vector round's, is refused by the worker; the
// honest one sums exactly the agreeing entries.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "fl/fixed_point.h"
#include "fl/secagg/server.h"
#include "mem_env.h"
#include "round_participant.h"
#include "ties_trim.h"

using namespace fl;
using namespace fl::worker;

namespace {

const std::string kSession(16, 's');

class CapturingLink final : public CoordinatorLink {
 public:
  struct Sent {
    wire::MessageType type;
    uint32_t round;
    std::string body;
    std::vector<Frame> payload;
  };
  Status Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
              std::vector<Frame> payload) override {
    sent.push_back({type, round, body ? body->SerializeAsString() : std::string(), std::move(payload)});
    return Status::Ok();
  }
  std::vector<Sent> sent;
};

struct Hospital {
  secagg::Identity identity;
  WorkerOptions options;
  DataVector vector;
  LocalInputs inputs;
  CapturingLink link;
  std::unique_ptr<PlaintextAudit> audit;
  std::unique_ptr<RoundParticipant> rounds;
};

// Hospitals h1..hn with vectors of 6 entries, allowing TIES at density 0.5.
struct Window {
  testing::MemEnv env;
  secagg::Roster roster;
  std::vector<std::unique_ptr<Hospital>> hospitals;

  explicit Window(int n) {
    REQUIRE(crypto::Init().ok());
    for (int i = 0; i < n; ++i) {
      auto h = std::make_unique<Hospital>();
      h->identity = secagg::Identity::Generate("h" + std::to_string(i + 1));
      REQUIRE(roster.Add(h->identity.name, h->identity.keys.public_key).ok());
      h->options.name = h->identity.name;
      h->options.allow_ties_merging = true;
      h->options.ties_density = 0.5;
      for (int j = 0; j < 6; ++j) {  // hospitals disagree in sign and in which entries are largest
        const int sign = (j + i) % 3 == 0 ? -1 : 1;
        h->vector.tau.values.push_back(0.01f * static_cast<float>(sign * (1 + (j * 7 + i * 3) % 5)));
      }
      h->vector.samples = 10 * (i + 1);
      h->inputs.vector = &h->vector;
      hospitals.push_back(std::move(h));
    }
    for (auto& h : hospitals) {
      h->audit = std::make_unique<PlaintextAudit>(env, "", h->options.name);
      h->rounds = std::make_unique<RoundParticipant>(h->options, h->identity, roster, h->link, *h->audit);
    }
  }

  static wire::RoundStart Start(wire::RoundStart::Kind kind, const std::vector<uint32_t>& ids, uint64_t dimension) {
    wire::RoundStart rs;
    for (uint32_t id : ids) rs.add_cohort(id);
    rs.set_kind(kind);
    rs.set_dimension(dimension);
    rs.set_clip(1.0);
    rs.set_max_total_weight(1000);
    rs.set_ring_bits(32);
    rs.set_max_cohort(10);
    rs.set_ties_density(0.5);
    return rs;
  }

  // Runs round `round` with worker id -> hospital index `who`. `tamper` may change what the
  // coordinator sends to a worker. Returns the first error a worker answers with, or the
  // unmasked sum; *refused lists the workers that abandoned the round.
  StatusOr<RingVector> Run(uint32_t round, const std::map<uint32_t, int>& who, const wire::RoundStart& rs,
                           std::vector<Frame> payload,
                           const std::function<void(uint32_t, wire::SecAggServerMessage*)>& tamper = nullptr) {
    secagg::ServerConfig sc;
    sc.round = secagg::RoundId{kSession, round};
    for (const auto& [id, h] : who) sc.cohort.push_back(id);
    sc.vector_length = rs.dimension() + 1;
    secagg::SecAggServer server(sc);
    std::map<uint32_t, size_t> read;  // messages of each worker passed to the server
    for (const auto& [id, h] : who) {
      Message m = MakeMessage(wire::ROUND_START, kSession, round, 0, &rs);
      m.payload = payload;
      read[id] = hospitals[h]->link.sent.size();
      FL_RETURN_IF_ERROR(hospitals[h]->rounds->Start(Membership{kSession, id}, nullptr, hospitals[h]->inputs, m));
    }
    while (!server.done()) {
      for (const auto& [id, h] : who) {
        CapturingLink& link = hospitals[h]->link;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        // A worker masks once its local work is done: wait for it.
        while (link.sent.size() == read[id] && hospitals[h]->rounds->in_round(round) &&
               std::chrono::steady_clock::now() < deadline) {
          FL_RETURN_IF_ERROR(hospitals[h]->rounds->Poll());
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        for (; read[id] < link.sent.size(); ++read[id]) {
          const CapturingLink::Sent& s = link.sent[read[id]];
          wire::SecAggClientMessage msg;
          REQUIRE(msg.ParseFromString(s.body));
          if (s.payload.empty()) {
            FL_RETURN_IF_ERROR(server.Receive(id, msg));
          } else {
            FL_ASSIGN_OR_RETURN(RingVector v, ReadRingFrame(s.payload[0], sc.vector_length, "masked input"));
            FL_RETURN_IF_ERROR(server.Receive(id, msg, v.data(), v.size()));
          }
        }
      }
      FL_ASSIGN_OR_RETURN(std::vector<secagg::Outgoing> out, server.Close());
      for (secagg::Outgoing& o : out) {
        if (tamper) tamper(o.to, &o.message);
        Hospital& h = *hospitals[who.at(o.to)];
        FL_RETURN_IF_ERROR(h.rounds->OnSecAgg(MakeMessage(wire::SECAGG_SERVER, kSession, round, 0, &o.message)));
        if (!h.rounds->in_round(round)) refused.push_back(o.to);
      }
      if (!refused.empty()) return Aborted("a worker abandoned the round");
    }
    return server.TakeResult();
  }

  // The vector round over `who`: each hospital's vector trimmed to half its entries.
  void VectorRound(const std::map<uint32_t, int>& who) {
    std::vector<uint32_t> ids;
    for (const auto& [id, h] : who) ids.push_back(id);
    auto sum = Run(1, who, Start(wire::RoundStart::MERGE_VECTORS, ids, 6), {});
    REQUIRE(sum.ok());
  }

  std::vector<uint32_t> refused;
};

std::vector<float> Signs() { return {1, -1, 1, -1, 1, -1}; }

Frame SignFrame() {
  const std::vector<float> s = Signs();
  return FloatFrame(s.data(), s.size());
}

wire::RoundStart AgreementStart(const std::vector<uint32_t>& ids) {
  wire::RoundStart rs = Window::Start(wire::RoundStart::MERGE_AGREEMENT, ids, 12);
  for (uint32_t id : ids) rs.add_required_survivors(id);
  return rs;
}

}  // namespace

TEST_CASE("the agreement round sums exactly the vector round's hospitals' agreeing entries", "[merge][ties]") {
  Window w(3);
  const std::map<uint32_t, int> who = {{1, 0}, {2, 1}, {3, 2}};
  w.VectorRound(who);
  auto sum = w.Run(2, who, AgreementStart({1, 2, 3}), {SignFrame()});
  REQUIRE(sum.ok());
  FixedPointParams fp;
  fp.clip = 1.0;
  fp.max_total_weight = 1000;
  fp.max_cohort = 10;
  auto decoded = DecodeWeightedSum(*sum, fp);
  REQUIRE(decoded.ok());
  CHECK(decoded->total_weight == 60);
  std::vector<double> expected(12, 0.0);
  for (const auto& h : w.hospitals) {
    auto agreeing = AgreeingEntries(TrimToLargest(h->vector.tau.values, 0.5), Signs(), 1.0f);
    REQUIRE(agreeing.ok());
    for (size_t i = 0; i < 12; ++i) expected[i] += static_cast<double>(h->vector.samples) * (*agreeing)[i] / 60.0;
  }
  for (size_t i = 0; i < 12; ++i) CHECK(decoded->average[i] == Approx(expected[i]).margin(1e-5));
}

TEST_CASE("an agreement round whose ids name other hospitals is refused", "[merge][ties]") {
  Window w(3);
  w.VectorRound({{1, 0}, {2, 1}, {3, 2}});
  // The coordinator swaps the hospitals behind ids 2 and 3; the id set is the same.
  auto sum = w.Run(2, {{1, 0}, {2, 2}, {3, 1}}, AgreementStart({1, 2, 3}), {SignFrame()});
  REQUIRE_FALSE(sum.ok());
  CHECK(sum.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(sum.status().message(), Catch::Contains("in the earlier round this one must match"));
}

TEST_CASE("an agreement sum over fewer than the vector round's survivors is never signed", "[merge][ties]") {
  Window w(4);
  const std::map<uint32_t, int> who = {{1, 0}, {2, 1}, {3, 2}, {4, 3}};
  w.VectorRound(who);
  // Every masked input arrives, but the coordinator tells worker 1 that 4's did not: a sum
  // of 1, 2 and 3 next to the vector round's sum of all four would reveal 4's entries.
  auto sum = w.Run(2, who, AgreementStart({1, 2, 3, 4}), {SignFrame()}, [](uint32_t to, wire::SecAggServerMessage* m) {
    if (to != 1 || m->step_case() != wire::SecAggServerMessage::kConsistency) return;
    m->mutable_consistency()->mutable_survivors()->RemoveLast();
  });
  REQUIRE_FALSE(sum.ok());
  REQUIRE(w.refused == std::vector<uint32_t>{1});
  // Worker 1 sent no signature of that survivor set.
  const auto& sent = w.hospitals[0]->link.sent;
  wire::SecAggClientMessage last;
  REQUIRE(last.ParseFromString(sent.back().body));
  CHECK(last.step_case() == wire::SecAggClientMessage::kMaskedInput);
}
