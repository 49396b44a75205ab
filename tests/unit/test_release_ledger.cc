// The record of a private vote's releases (fl/privacy/release_ledger.h), kept by the
// coordinator for its budget and by every teachers' hospital for its own: each release is
// accounted with only its guaranteed hospitals' noise, a replayed ledger gives the same
// epsilon (also for releases made under other settings), and a damaged ledger is refused
// rather than under-counted.
#include <catch2/catch.hpp>

#include "fl/privacy/pate_accountant.h"
#include "fl/privacy/release_ledger.h"
#include "mem_env.h"

using fl::privacy::PateAccountant;
using fl::privacy::RdpAccountant;
using fl::privacy::Release;
using fl::privacy::ReleaseLedger;

namespace {
PateAccountant Fresh(double sigma_1 = 40, double sigma_2 = 20) {
  auto a = PateAccountant::Create({sigma_1, sigma_2, 2, 3}, 8.0, 1e-5);
  REQUIRE(a.ok());
  return std::move(a).value();
}

// Accounts and appends, as the coordinator does.
void Record(ReleaseLedger& ledger, PateAccountant& acc, const Release& r) {
  REQUIRE(acc.RecordRelease(r).ok());
  REQUIRE(ledger.Append(r, acc.Spent(), acc.delta()).ok());
}
}  // namespace

TEST_CASE("a release is accounted with its guaranteed hospitals' noise only", "[privacy][ledger]") {
  RdpAccountant with_three, with_thirty, reference;
  REQUIRE(fl::privacy::AddRelease({"answer", 3.0, 3, 2, 20, 3, 1}, &with_three).ok());
  REQUIRE(fl::privacy::AddRelease({"answer", 3.0, 3, 2, 20, 30, 1}, &with_thirty).ok());
  CHECK(with_thirty.rdp() == with_three.rdp());
  REQUIRE(reference.AddSummedDiscreteGaussian(fl::privacy::VoteChange(2), {3.0, 3}, 20).ok());
  CHECK(with_three.rdp() == reference.rdp());
  // Fewer hospitals than guaranteed, no noise, a share below 1/4, a count or classes out
  // of range: refused.
  for (const Release& bad : {Release{"answer", 3.0, 3, 2, 5, 2, 1}, Release{"answer", 0.0, 3, 2, 5, 3, 1},
                             Release{"answer", 0.8, 3, 2, 5, 3, 1}, Release{"answer", 3.0, 3, 2, -1, 3, 1},
                             Release{"answer", 3.0, 3, 1, 5, 3, 1}}) {
    RdpAccountant a;
    CHECK_FALSE(fl::privacy::AddRelease(bad, &a).ok());
  }
}

TEST_CASE("the release ledger replays every release into the same epsilon", "[privacy][ledger]") {
  fl::testing::MemEnv env;
  REQUIRE(env.MakeDirs("state").ok());
  ReleaseLedger ledger(env, "state/privacy-ledger.jsonl");
  PateAccountant acc = Fresh();
  REQUIRE(ledger.Open([&](const Release& r) { return acc.RecordRelease(r); }).ok());  // no ledger yet
  Record(ledger, acc, {"selection", 40, 3, 2, 50, 3, 1});
  Record(ledger, acc, {"answer", 20, 3, 2, 37, 4, 2});
  // A release made under other settings (a restart with another sigma, or classes) keeps them.
  Record(ledger, acc, {"selection", 60, 3, 5, 10, 3, 3});
  CHECK(ledger.releases() == 3);

  PateAccountant direct = Fresh();
  REQUIRE(direct.RecordSelection(50, 3).ok());
  REQUIRE(direct.RecordAnswers(37, 4).ok());
  REQUIRE(direct.RecordRelease({"selection", 60, 3, 5, 10, 3, 3}).ok());
  CHECK(acc.Spent() == Approx(direct.Spent()).epsilon(1e-12));

  // A restarted coordinator with other settings replays the ledger into the same epsilon;
  // the room left is priced at the new settings: less noise, fewer queries.
  PateAccountant replayed = Fresh(30, 15);
  ReleaseLedger again(env, "state/privacy-ledger.jsonl");
  REQUIRE(again.Open([&](const Release& r) { return replayed.RecordRelease(r); }).ok());
  CHECK(again.releases() == 3);
  CHECK(replayed.Spent() == Approx(acc.Spent()).epsilon(1e-12));
  CHECK(replayed.MaxQueries() < acc.MaxQueries());
  PateAccountant same = Fresh();
  REQUIRE(ReleaseLedger(env, "state/privacy-ledger.jsonl").Open([&](const Release& r) {
    return same.RecordRelease(r);
  }).ok());
  CHECK(same.MaxQueries() == acc.MaxQueries());
}

TEST_CASE("a damaged release ledger is refused", "[privacy][ledger]") {
  fl::testing::MemEnv env;
  REQUIRE(env.MakeDirs("state").ok());
  ReleaseLedger ledger(env, "state/l.jsonl");
  PateAccountant acc = Fresh();
  Record(ledger, acc, {"selection", 40, 3, 2, 50, 3, 1});
  const std::string good = *env.ReadFile(ledger.path(), 1 << 20);
  for (const std::string& bad : {good + "{\"release\":\"answer\"}\n", good + "not json\n",
                                 good + "{\"release\":\"answer\",\"sigma\":20,\"guarantee\":3,\"classes\":2,"
                                        "\"histograms\":5,\"contributors\":1}\n"}) {
    REQUIRE(env.WriteFile(ledger.path(), bad).ok());
    PateAccountant fresh = Fresh();
    ReleaseLedger reader(env, "state/l.jsonl");
    const fl::Status s = reader.Open([&](const Release& r) { return fresh.RecordRelease(r); });
    CHECK(s.code() == fl::StatusCode::kDataLoss);
    CHECK(s.message().find(":2:") != std::string::npos);
  }
}
