// A curious or malicious coordinator, and bad peers: every deviation below is refused
// with a clear reason, and nothing crashes.
#include <catch2/catch.hpp>

#include <memory>

#include "fl/secagg/client.h"
#include "fl/secagg/server.h"

using namespace fl;
using namespace fl::secagg;

namespace {

// Drives n clients and a server by hand so that tests can tamper with any message.
struct ManualRound {
  RoundId rid;
  std::vector<Identity> ids;
  Roster roster;
  std::unique_ptr<SecAggServer> server;
  std::vector<std::unique_ptr<SecAggClient>> clients;  // index = worker id - 1
  uint32_t n;
  size_t len = 17;

  explicit ManualRound(uint32_t n_workers, uint32_t round = 1, const std::vector<Identity>* reuse = nullptr,
                       std::string session = "")
      : n(n_workers) {
    REQUIRE(crypto::Init().ok());
    rid.session = session.empty() ? std::string(16, 's') : session;
    rid.round = round;
    for (uint32_t i = 0; i < n; ++i) {
      ids.push_back(reuse ? (*reuse)[i] : Identity::Generate("h" + std::to_string(i + 1)));
      REQUIRE(roster.Add(ids[i].name, ids[i].keys.public_key).ok());
    }
    ServerConfig sc;
    sc.round = rid;
    for (uint32_t i = 1; i <= n; ++i) sc.cohort.push_back(i);
    sc.vector_length = len;
    server = std::make_unique<SecAggServer>(sc);
    for (uint32_t i = 0; i < n; ++i) {
      ClientConfig cc;
      cc.round = rid;
      cc.worker_id = i + 1;
      cc.identity = &ids[i];
      cc.roster = &roster;
      clients.push_back(std::make_unique<SecAggClient>(cc));
      RingVector input(len);
      for (size_t j = 0; j < len; ++j) input[j] = (i + 1) * 1000 + static_cast<uint32_t>(j);
      clients.back()->SetInput(std::move(input));
    }
  }

  SecAggClient& client(uint32_t id) { return *clients[id - 1]; }

  std::vector<Outgoing> Advertise() {
    for (uint32_t i = 0; i < n; ++i) {
      auto m = clients[i]->Start();
      REQUIRE(m.ok());
      REQUIRE(server->Receive(i + 1, *m).ok());
    }
    auto out = server->Close();
    REQUIRE(out.ok());
    return *out;
  }

  // Delivers `msgs` to the clients and their replies to the server, then closes.
  std::vector<Outgoing> Step(const std::vector<Outgoing>& msgs) {
    for (const Outgoing& o : msgs) {
      auto r = client(o.to).Handle(o.message);
      REQUIRE(r.ok());
      if (r->masked_input) {
        REQUIRE(server->Receive(o.to, *r->message, r->masked_input->data(), r->masked_input->size()).ok());
      } else if (r->message) {
        REQUIRE(server->Receive(o.to, *r->message).ok());
      }
    }
    auto out = server->Close();
    REQUIRE(out.ok());
    return *out;
  }

  static const Outgoing& For(const std::vector<Outgoing>& msgs, uint32_t id) {
    for (const auto& o : msgs) {
      if (o.to == id) return o;
    }
    FAIL("no message for worker " << id);
    return msgs.front();
  }
};

}  // namespace

TEST_CASE("secagg adversary: the honest manual round sums exactly") {
  ManualRound r(5);
  auto shares = r.Step(r.Advertise());
  auto consistency = r.Step(shares);
  auto unmask = r.Step(consistency);
  r.Step(unmask);
  auto sum = r.server->TakeResult();
  REQUIRE(sum.ok());
  for (size_t j = 0; j < r.len; ++j) CHECK((*sum)[j] == 15000 + 5 * j);
}

TEST_CASE("secagg adversary: a request for both shares of one peer is refused") {
  ManualRound r(5);
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  Outgoing tampered = ManualRound::For(unmask, 1);
  tampered.message.mutable_unmask()->add_dropped(2);  // 2 is also listed as a survivor
  auto res = r.client(1).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(res.status().message(), Catch::Contains("refusing to reveal both"));
  CHECK(r.client(1).aborted());
  // Once aborted, even the honest request is refused: its secrets are gone.
  CHECK_FALSE(r.client(1).Handle(ManualRound::For(unmask, 1).message).ok());
}

TEST_CASE("secagg adversary: a second unmasking request is refused") {
  ManualRound r(4);
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  const auto& req = ManualRound::For(unmask, 2).message;
  REQUIRE(r.client(2).Handle(req).ok());
  // Asking again, now claiming worker 3 dropped, would yield its mask secret too.
  wire::SecAggServerMessage again = req;
  again.mutable_unmask()->clear_survivors();
  for (uint32_t id : {1u, 2u, 4u}) again.mutable_unmask()->add_survivors(id);
  again.mutable_unmask()->add_dropped(3);
  auto res = r.client(2).Handle(again);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("already finished"));
}

TEST_CASE("secagg adversary: a finished client that refuses a request is aborted, not done") {
  // Found by fuzz_secagg_client: the refused request set the abort reason, yet done() stayed
  // true, so the client was done and aborted at once (the server's done() excludes aborted).
  ManualRound r(4);
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  REQUIRE(r.client(1).Handle(ManualRound::For(unmask, 1).message).ok());
  CHECK(r.client(1).done());
  CHECK_FALSE(r.client(1).aborted());
  REQUIRE_FALSE(r.client(1).Handle(ManualRound::For(unmask, 1).message).ok());
  CHECK(r.client(1).aborted());
  CHECK_FALSE(r.client(1).done());
  CHECK(std::string(r.client(1).state_name()) == "aborted");
}

TEST_CASE("secagg adversary: an unmasking request with another survivor set is refused") {
  ManualRound r(5);
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  Outgoing tampered = ManualRound::For(unmask, 3);
  auto* req = tampered.message.mutable_unmask();
  req->clear_survivors();
  for (uint32_t id : {1u, 3u, 4u, 5u}) req->add_survivors(id);  // claims 2 did not survive
  req->add_dropped(2);
  auto res = r.client(3).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("other than the one this worker signed"));
}

TEST_CASE("secagg adversary: too few consistency signatures are refused") {
  ManualRound r(5);  // t = 3
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  Outgoing tampered = ManualRound::For(unmask, 1);
  auto* sigs = tampered.message.mutable_unmask()->mutable_signatures();
  while (sigs->size() > 1) sigs->RemoveLast();  // 1 neighbour + itself < t = 3
  auto res = r.client(1).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("signed the survivor set"));
  // A signature over a different set does not count either.
  ManualRound r2(5);
  auto unmask2 = r2.Step(r2.Step(r2.Step(r2.Advertise())));
  Outgoing forged = ManualRound::For(unmask2, 1);
  (*forged.message.mutable_unmask()->mutable_signatures())[0].mutable_signature()->at(5) ^= 1;
  auto res2 = r2.client(1).Handle(forged.message);
  REQUIRE_FALSE(res2.ok());
  CHECK_THAT(res2.status().message(), Catch::Contains("does not verify"));
}

TEST_CASE("secagg adversary: a forged key signature aborts the round at the worker") {
  ManualRound r(4);
  auto keys = r.Advertise();
  Outgoing tampered = ManualRound::For(keys, 1);
  auto* nb = tampered.message.mutable_keys()->mutable_neighbours(0);
  nb->mutable_mask_public_key()->at(0) ^= 0x40;  // coordinator substitutes a key
  auto res = r.client(1).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(res.status().message(), Catch::Contains("does not verify"));
}

TEST_CASE("secagg adversary: keys replayed from an older round are rejected") {
  ManualRound old_round(4, /*round=*/7);
  auto old_keys = old_round.Advertise();
  const wire::SignedKeys replayed = ManualRound::For(old_keys, 1).message.keys().neighbours(0);
  ManualRound r(4, /*round=*/8, &old_round.ids);
  auto keys = r.Advertise();
  Outgoing tampered = ManualRound::For(keys, 1);
  for (auto& nb : *tampered.message.mutable_keys()->mutable_neighbours()) {
    if (nb.worker_id() == replayed.worker_id()) nb = replayed;
  }
  auto res = r.client(1).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("forged or replayed"));
}

TEST_CASE("secagg adversary: a sock-puppet outside the roster is rejected") {
  ManualRound r(4);
  auto keys = r.Advertise();
  Outgoing tampered = ManualRound::For(keys, 2);
  tampered.message.mutable_keys()->mutable_neighbours(0)->set_name("mallory");
  auto res = r.client(2).Handle(tampered.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("not in the roster"));
}

TEST_CASE("secagg adversary: the coordinator cannot lower the threshold or shrink the cohort") {
  ManualRound r(6);
  auto keys = r.Advertise();
  Outgoing low = ManualRound::For(keys, 1);
  low.message.mutable_keys()->mutable_params()->set_t(2);
  auto res = r.client(1).Handle(low.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("majority"));

  ManualRound small(6);
  auto keys2 = small.Advertise();
  Outgoing tiny = ManualRound::For(keys2, 1);
  auto* nk = tiny.message.mutable_keys();
  nk->clear_cohort();
  nk->add_cohort(1);
  nk->add_cohort(2);
  nk->mutable_params()->set_n(2);
  nk->mutable_params()->set_k(1);
  nk->mutable_params()->set_t(2);
  auto res2 = small.client(1).Handle(tiny.message);
  REQUIRE_FALSE(res2.ok());
  CHECK_THAT(res2.status().message(), Catch::Contains("min_cohort"));
}

TEST_CASE("secagg adversary: the server rejects wrong-length vectors and unknown workers") {
  ManualRound r(4);
  auto consistency_in = r.Step(r.Advertise());  // shares lists
  // Worker 1 answers with a vector one word short.
  auto out = r.client(1).Handle(ManualRound::For(consistency_in, 1).message);
  REQUIRE(out.ok());
  REQUIRE(out->masked_input);
  Status s = r.server->Receive(1, *out->message, out->masked_input->data(), out->masked_input->size() - 1);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains("expected " + std::to_string(r.len)));
  // An id outside the cohort.
  Status u = r.server->Receive(999, *out->message, out->masked_input->data(), out->masked_input->size());
  CHECK(u.code() == StatusCode::kPermissionDenied);
  CHECK_THAT(u.message(), Catch::Contains("unknown in this round"));
  // Worker 1 is now excluded: even its correct vector is refused.
  CHECK_FALSE(r.server->Receive(1, *out->message, out->masked_input->data(), out->masked_input->size()).ok());
}

TEST_CASE("secagg adversary: the server with a roster rejects forged advertisements") {
  ManualRound r(4);
  ServerConfig sc;
  sc.round = r.rid;
  sc.cohort = {1, 2, 3, 4};
  sc.vector_length = r.len;
  sc.roster = &r.roster;
  SecAggServer server(sc);
  auto m = r.client(1).Start();
  REQUIRE(m.ok());
  wire::SecAggClientMessage forged = *m;
  forged.mutable_advertise()->mutable_signature()->at(0) ^= 1;
  Status s = server.Receive(1, forged);
  CHECK(s.code() == StatusCode::kPermissionDenied);
  CHECK_THAT(s.message(), Catch::Contains("does not verify"));
}

TEST_CASE("secagg adversary: a worker refuses to sign or unmask a sum of two inputs") {
  // With three workers t = 2, so the threshold alone would allow a survivor set of two,
  // whose sum reveals each one's input to the other.
  ManualRound r(3);
  auto consistency = r.Step(r.Step(r.Advertise()));
  Outgoing two = ManualRound::For(consistency, 1);
  auto* survivors = two.message.mutable_consistency()->mutable_survivors();
  survivors->Clear();
  survivors->Add(1);
  survivors->Add(2);
  auto res = r.client(1).Handle(two.message);
  REQUIRE_FALSE(res.ok());
  CHECK_THAT(res.status().message(), Catch::Contains("survivor minimum is 3"));
  CHECK(r.client(1).aborted());

  ManualRound r2(3);
  auto unmask = r2.Step(r2.Step(r2.Step(r2.Advertise())));
  Outgoing small = ManualRound::For(unmask, 1);
  auto* req = small.message.mutable_unmask();
  req->clear_survivors();
  req->add_survivors(1);
  req->add_survivors(2);
  req->add_dropped(3);
  auto res2 = r2.client(1).Handle(small.message);
  REQUIRE_FALSE(res2.ok());
  CHECK(res2.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(res2.status().message(), Catch::Contains("refusing to unmask a sum of 2 inputs"));
}

namespace {

// Replaces worker `id`'s client, before the round starts, with one that signs only a sum of
// exactly `required`.
void RequireSurvivors(ManualRound& r, uint32_t id, std::vector<uint32_t> required,
                      std::map<uint32_t, std::string> names = {}) {
  ClientConfig cc;
  cc.round = r.rid;
  cc.worker_id = id;
  cc.identity = &r.ids[id - 1];
  cc.roster = &r.roster;
  cc.required_survivors = std::move(required);
  cc.required_names = std::move(names);
  RingVector input(r.len);
  for (size_t j = 0; j < r.len; ++j) input[j] = id * 1000 + static_cast<uint32_t>(j);
  r.clients[id - 1] = std::make_unique<SecAggClient>(cc);
  r.clients[id - 1]->SetInput(std::move(input));
}

}  // namespace

TEST_CASE("secagg adversary: a worker bound to an earlier round's survivors signs only that set") {
  ManualRound r(5);
  RequireSurvivors(r, 1, {1, 2, 3, 4, 5});
  auto unmask = r.Step(r.Step(r.Step(r.Advertise())));
  r.Step(unmask);
  REQUIRE(r.client(1).done());
  CHECK(r.client(1).signed_survivors() == std::vector<uint32_t>{1, 2, 3, 4, 5});

  // Worker 5 "dropped" before its masked input: the sum of the other four next to the
  // earlier sum of five would reveal worker 5's input, so worker 1 refuses to sign it.
  ManualRound r2(5);
  RequireSurvivors(r2, 1, {1, 2, 3, 4, 5});
  auto consistency = r2.Step(r2.Step(r2.Advertise()));
  Outgoing four = ManualRound::For(consistency, 1);
  auto* survivors = four.message.mutable_consistency()->mutable_survivors();
  survivors->Clear();
  for (uint32_t id : {1u, 2u, 3u, 4u}) survivors->Add(id);
  auto res = r2.client(1).Handle(four.message);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == StatusCode::kAborted);
  CHECK_THAT(res.status().message(), Catch::Contains("differs from the earlier round's"));
  CHECK(r2.client(1).aborted());
  CHECK(r2.client(1).signed_survivors().empty());
}

TEST_CASE("secagg adversary: a worker bound to an earlier round refuses ids that name other hospitals") {
  // The coordinator relabels: worker id 2 was h2 in the earlier round; here it is h3.
  ManualRound r(4);
  RequireSurvivors(r, 1, {1, 2, 3, 4}, {{2, "h3"}, {3, "h3"}});
  auto shares = r.Advertise();
  auto res = r.client(1).Handle(ManualRound::For(shares, 1).message);
  REQUIRE_FALSE(res.ok());
  CHECK(res.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(res.status().message(), Catch::Contains("was h3 in the earlier round"));

  ManualRound same(4);
  RequireSurvivors(same, 1, {1, 2, 3, 4}, {{2, "h2"}, {3, "h3"}, {4, "h4"}});
  same.Step(same.Step(same.Step(same.Step(same.Advertise()))));
  REQUIRE(same.client(1).done());
  CHECK(same.client(1).neighbour_names() == std::map<uint32_t, std::string>{{2, "h2"}, {3, "h3"}, {4, "h4"}});
}
