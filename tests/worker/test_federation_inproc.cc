// A whole federation in one process (inproc_federation.h): one coordinator and N workers
// on the in-process transport with a fake trainer whose updates are known. Each test
// checks in well under a second what used to need real processes and sleeps: the exact
// model step of every round, a worker dying at every protocol step, admission refusals,
// heartbeat loss, a round abandoned below the threshold and retried, the convergence stop,
// and a coordinator that resumes after each write of a round fails in turn.
#include <catch2/catch.hpp>

#include "fault_env.h"
#include "fl/exit_codes.h"
#include "inproc_federation.h"
#include "saved_state.h"

using fl::testing::FaultEnv;
using fl::testing::HospitalSpec;
using fl::testing::InProcFederation;

namespace {

std::vector<HospitalSpec> Hospitals(int n) {
  std::vector<HospitalSpec> out;
  for (int i = 0; i < n; ++i) out.push_back({"hospital-" + std::string(1, static_cast<char>('a' + i)), 100 + 50 * i});
  return out;
}

std::vector<nlohmann::json> Rounds(const std::vector<nlohmann::json>& lines) {
  std::vector<nlohmann::json> out;
  for (const auto& l : lines) {
    if (l.contains("round")) out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("federation in process: every round's model step is the weighted mean of the updates", "[federation]") {
  InProcFederation f(Hospitals(4));
  f.options().rounds = 3;
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  for (const auto& [name, code] : f.worker_exit_codes()) CHECK(code == fl::kExitOk);
  const auto lines = f.MetricsLines();
  const auto rounds = Rounds(lines);
  REQUIRE(rounds.size() == 3);
  for (size_t r = 0; r < rounds.size(); ++r) {
    CHECK(rounds[r]["round"] == r + 1);
    CHECK(rounds[r]["cohort_size"] == 4);
    f.CheckModelStep(rounds[r]);
  }
  REQUIRE(lines.back().contains("final"));
  CHECK(lines.back()["hospitals"].size() == 4);
  CHECK(lines.back()["hospitals"]["hospital-a"]["test_accuracy"] == 0.75);
}

TEST_CASE("federation in process: a worker dying before each protocol step", "[federation]") {
  const char* steps[] = {"advertise", "share", "masked_input", "signature", "unmask"};
  for (const char* step : steps) {
    DYNAMIC_SECTION("before " << step) {
      auto hospitals = Hospitals(5);
      hospitals[4].crash_step = step;
      hospitals[4].crash_round = 2;
      InProcFederation f(hospitals);
      f.options().min_workers = 4;
      f.Start();
      REQUIRE(f.Wait() == fl::kExitOk);
      CHECK(f.crashed("hospital-e"));
      const auto rounds = Rounds(f.MetricsLines());
      REQUIRE(rounds.size() == 3);
      // Before its masked input, the dead worker's update is not in the sum; after it,
      // it is (its masks are removed with the survivors' shares either way).
      const bool input_sent = std::string(step) == "signature" || std::string(step) == "unmask";
      CHECK(rounds[1]["cohort_size"] == (input_sent ? 5 : 4));
      CHECK(rounds[1]["hospitals"].contains("hospital-e") == input_sent);
      CHECK(rounds[2]["cohort_size"] == 4);
      for (const auto& r : rounds) f.CheckModelStep(r);
    }
  }
}

TEST_CASE("federation in process: admission refusals", "[federation]") {
  auto hospitals = Hospitals(3);
  hospitals.push_back({"mallory", 100, "", 0, /*in_roster=*/false});
  InProcFederation f(hospitals);
  f.options().rounds = 1;
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  const auto codes = f.worker_exit_codes();
  CHECK(codes.at("mallory") == fl::kExitRuntimeError);  // told it is not in the roster
  const auto rounds = Rounds(f.MetricsLines());
  REQUIRE(rounds.size() == 1);
  CHECK_FALSE(rounds[0]["hospitals"].contains("mallory"));
}

TEST_CASE("federation in process: a silent worker is dropped on heartbeat loss and the round goes on",
          "[federation]") {
  auto hospitals = Hospitals(4);
  hospitals[3].crash_step = "masked_input";  // goes silent, stays connected
  hospitals[3].crash_round = 1;
  InProcFederation f(hospitals);
  f.options().rounds = 2;
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  const auto rounds = Rounds(f.MetricsLines());
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0]["cohort_size"] == 3);
  CHECK(rounds[0]["invited"] == 4);
  CHECK(rounds[1]["invited"] == 3);  // dropped from the federation, not only the round
  for (const auto& r : rounds) f.CheckModelStep(r);
}

TEST_CASE("federation in process: a round abandoned below the threshold is retried", "[federation]") {
  auto hospitals = Hospitals(6);  // n = 6, t = 4
  for (int i = 3; i < 6; ++i) {
    hospitals[i].crash_step = "masked_input";
    hospitals[i].crash_round = 2;
  }
  InProcFederation f(hospitals);
  f.options().rounds = 2;
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  const auto rounds = Rounds(f.MetricsLines());
  REQUIRE(rounds.size() == 2);
  CHECK(rounds[0]["protocol_round"] == 1);
  // Protocol round 2 had three masked inputs for t = 4: abandoned; round 3 retried it
  // with the three that remained (t = 2, the survivor minimum 3).
  CHECK(rounds[1]["protocol_round"] == 3);
  CHECK(rounds[1]["cohort_size"] == 3);
  CHECK(rounds[1]["secagg"]["n"] == 3);
  for (const auto& r : rounds) f.CheckModelStep(r);
}

TEST_CASE("federation in process: training stops when the loss stops improving", "[federation]") {
  InProcFederation f(Hospitals(3));
  f.SetLossStep(0.0);  // the same loss every round: no improvement
  f.options().rounds = 10;
  f.options().patience = 2;
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  const auto lines = f.MetricsLines();
  CHECK(Rounds(lines).size() == 3);  // the best loss came in round 1; rounds 2-3 did not beat it
  CHECK(lines.back().contains("final"));
}

TEST_CASE("federation in process: too few workers end the federation, and they are told why", "[federation]") {
  InProcFederation f(Hospitals(2));
  f.options().admission_timeout_s = 0.3;
  f.Start();
  CHECK(f.Wait() == fl::kExitTooFewWorkers);
  for (const auto& [name, code] : f.worker_exit_codes()) CHECK(code == fl::kExitRuntimeError);
}

TEST_CASE("federation in process: a failed write of a round is fatal, and the restarted coordinator resumes it",
          "[federation]") {
  // Writes: the initial model (checkpoint v0, latest.json), then per round the
  // checkpoint, metrics.jsonl and latest.json. Fail each write of round 2 in turn.
  for (int k = 1; k <= 3; ++k) {
    DYNAMIC_SECTION("write " << k << " of round 2 fails") {
      std::vector<HospitalSpec> hospitals = Hospitals(3);
      {
        InProcFederation f(hospitals);
        FaultEnv faulty(f.disk());
        faulty.FailWrite(2 + 3 + static_cast<uint64_t>(k));
        f.SetCoordinatorEnv(&faulty);
        f.Start();
        CHECK(f.Wait() == fl::kExitRuntimeError);
        CHECK(faulty.failed_writes() == 1);
        // What a restart reads back holds round 1 only: round 2 never committed (its
        // metrics line, when written before latest.json failed, is not committed).
        auto saved = fl::coordinator::LoadSavedState(f.disk(), "/state", f.options().plan, 1000);
        REQUIRE(saved.ok());
        CHECK(saved->model_version == 1);
        CHECK(saved->metrics_lines.size() == 1);
        CHECK(saved->uncommitted_lines == (k == 3 ? 1u : 0u));

        // The coordinator restarts on the same disk with new worker processes.
        InProcFederation again(hospitals);
        auto files = f.disk().ListDir("/state");
        REQUIRE(files.ok());
        REQUIRE(again.disk().MakeDirs("/state").ok());
        for (const std::string& file : *files) {
          auto bytes = f.disk().ReadFile("/state/" + file, 1 << 24);
          REQUIRE(bytes.ok());
          REQUIRE(again.disk().WriteFile("/state/" + file, *bytes).ok());
        }
        again.Start();
        REQUIRE(again.Wait() == fl::kExitOk);
        const auto lines = again.MetricsLines();
        const auto resumed = Rounds(lines);
        REQUIRE(resumed.size() == 3);  // each round exactly once
        for (size_t r = 0; r < 3; ++r) CHECK(resumed[r]["round"] == r + 1);
        CHECK(lines.back().contains("final"));
        CHECK(lines.size() == 4);
        for (uint64_t v = 0; v <= 3; ++v) CHECK(again.Model(v).size() == InProcFederation::kDimension);
        again.CheckModelStep(resumed[1]);
        again.CheckModelStep(resumed[2]);
      }
    }
  }
}

TEST_CASE("federation in process: workers outlive coordinator restarts and finish the federation", "[federation]") {
  for (bool crash : {false, true}) {
    DYNAMIC_SECTION((crash ? "the coordinator crashes" : "the coordinator stops (SIGTERM)")) {
      auto hospitals = Hospitals(3);
      for (auto& h : hospitals) {
        h.once = false;     // services: they rejoin
        h.silence_s = 1.5;  // and notice a silent coordinator within that
      }
      InProcFederation f(hospitals);
      f.options().rounds = 6;
      f.SetTrainSeconds(0.02);
      f.Start();
      REQUIRE(f.AwaitVersion(2, 20));
      CHECK(f.StopCoordinator(crash) == fl::kExitOk);
      f.StartCoordinator();  // the same state_dir: it resumes
      REQUIRE(f.AwaitVersion(4, 20));
      CHECK(f.StopCoordinator(crash) == fl::kExitOk);
      f.StartCoordinator();
      REQUIRE(f.Wait() == fl::kExitOk);
      // The same worker objects finished the federation, each with its final report.
      for (const auto& [name, code] : f.worker_exit_codes()) CHECK(code == fl::kExitOk);
      const auto lines = f.MetricsLines();
      const auto rounds = Rounds(lines);
      REQUIRE(rounds.size() == 6);
      for (size_t r = 0; r < rounds.size(); ++r) {
        CHECK(rounds[r]["round"] == r + 1);
        CHECK(rounds[r]["cohort_size"] == 3);
        f.CheckModelStep(rounds[r]);
      }
      CHECK(lines.back()["hospitals"].size() == 3);
    }
  }
}

TEST_CASE("federation in process: a hospital cut off longer than the heartbeat limit is re-admitted", "[federation]") {
  auto hospitals = Hospitals(4);
  hospitals[3].once = false;
  hospitals[3].outage_from_s = 0.2;  // its link is down from 0.2 s to 1.5 s: the
  hospitals[3].outage_to_s = 1.5;    // coordinator drops it after 1 s of silence
  InProcFederation f(hospitals);
  f.options().rounds = 70;
  f.SetTrainSeconds(0.02);
  f.Start();
  REQUIRE(f.Wait() == fl::kExitOk);
  for (const auto& [name, code] : f.worker_exit_codes()) CHECK(code == fl::kExitOk);
  const auto rounds = Rounds(f.MetricsLines());
  REQUIRE(rounds.size() == 70);
  bool missed = false;
  for (const auto& r : rounds) missed = missed || !r["hospitals"].contains("hospital-d");
  CHECK(missed);                                          // dropped while cut off
  CHECK(rounds.back()["hospitals"].contains("hospital-d"));  // and back for the later rounds
  for (const auto& r : rounds) f.CheckModelStep(r);
}
