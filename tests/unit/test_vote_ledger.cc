// A private vote's ledger (coordinator/vote_ledger.h): every release is accounted and
// appended, a restarted coordinator replays it into the same epsilon (also for releases
// made under other noise settings), and a damaged ledger is refused rather than
// under-counted.
#include <catch2/catch.hpp>

#include "fl/privacy/pate_accountant.h"
#include "mem_env.h"
#include "vote_ledger.h"

using fl::coordinator::VoteLedger;
using fl::coordinator::VoteRelease;
using fl::privacy::PateAccountant;

namespace {
PateAccountant Fresh(double sigma_1 = 40, double sigma_2 = 20) {
  auto a = PateAccountant::Create({sigma_1, sigma_2, 2, 3}, 8.0, 1e-5);
  REQUIRE(a.ok());
  return std::move(a).value();
}
}  // namespace

TEST_CASE("the vote ledger replays every release into the same epsilon", "[privacy][ledger]") {
  fl::testing::MemEnv env;
  REQUIRE(env.MakeDirs("state").ok());
  VoteLedger ledger(env, "state");
  PateAccountant acc = Fresh();
  REQUIRE(ledger.Open(&acc).ok());  // no ledger yet
  REQUIRE(ledger.Record({"selection", 40, 3, 50, 3, 1}, &acc).ok());
  REQUIRE(ledger.Record({"answer", 20, 3, 37, 4, 2}, &acc).ok());
  // A release made under other settings (a restart with another sigma) keeps its own noise.
  REQUIRE(ledger.Record({"selection", 60, 3, 10, 3, 3}, &acc).ok());
  CHECK(ledger.releases() == 3);

  // The same releases recorded directly.
  PateAccountant direct = Fresh();
  REQUIRE(direct.RecordSelection(50, 3).ok());
  REQUIRE(direct.RecordAnswers(37, 4).ok());
  REQUIRE(direct.RecordRelease(60, 3, 10, 3).ok());
  CHECK(acc.Spent() == Approx(direct.Spent()).epsilon(1e-12));

  // A restarted coordinator with other settings replays the ledger into the same epsilon.
  PateAccountant replayed = Fresh(30, 15);
  VoteLedger again(env, "state");
  REQUIRE(again.Open(&replayed).ok());
  CHECK(again.releases() == 3);
  CHECK(replayed.Spent() == Approx(acc.Spent()).epsilon(1e-12));
  // The room left is priced at the new settings: less noise, fewer queries.
  CHECK(replayed.MaxQueries() < acc.MaxQueries());
  PateAccountant same = Fresh();
  REQUIRE(VoteLedger(env, "state").Open(&same).ok());
  CHECK(same.MaxQueries() == acc.MaxQueries());
}

TEST_CASE("a damaged vote ledger or an impossible release is refused", "[privacy][ledger]") {
  fl::testing::MemEnv env;
  REQUIRE(env.MakeDirs("state").ok());
  VoteLedger ledger(env, "state");
  PateAccountant acc = Fresh();
  // Fewer hospitals than the noise assumed, no noise, a negative count: never recorded.
  CHECK_FALSE(ledger.Record({"answer", 20, 3, 5, 2, 1}, &acc).ok());
  CHECK_FALSE(ledger.Record({"answer", 0, 3, 5, 3, 1}, &acc).ok());
  CHECK_FALSE(ledger.Record({"answer", 20, 3, -1, 3, 1}, &acc).ok());
  CHECK(ledger.releases() == 0);
  CHECK_FALSE(env.FileExists(ledger.path()));

  REQUIRE(ledger.Record({"selection", 40, 3, 50, 3, 1}, &acc).ok());
  const std::string good = *env.ReadFile(ledger.path(), 1 << 20);
  for (const std::string& bad : {good + "{\"release\":\"answer\"}\n", good + "not json\n",
                                 good + "{\"release\":\"answer\",\"sigma\":20,\"guarantee\":3,\"histograms\":5,"
                                        "\"contributors\":1}\n"}) {
    REQUIRE(env.WriteFile(ledger.path(), bad).ok());
    PateAccountant fresh = Fresh();
    VoteLedger reader(env, "state");
    const fl::Status s = reader.Open(&fresh);
    CHECK(s.code() == fl::StatusCode::kDataLoss);
    CHECK(s.message().find(":2:") != std::string::npos);
  }
}
