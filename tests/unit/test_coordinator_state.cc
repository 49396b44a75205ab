// Tests for what a restarted coordinator reads back from its state_dir
// (coordinator/saved_state.h) and its audit directory (coordinator/audit_log.h).
#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>
#include <string>

#include "fl/plan.h"
#include "fl/safetensors.h"
#include "audit_log.h"
#include "fl/env.h"
#include "saved_state.h"
#include "temp_dir.h"

using Catch::Matchers::Contains;
using fl::StatusCode;
using fl::coordinator::VersionFile;

namespace {

fl::StatusOr<fl::coordinator::SavedState> LoadSavedState(const std::string& dir, const fl::Plan& plan, uint64_t max) {
  return fl::coordinator::LoadSavedState(fl::Env::Default(), dir, plan, max);
}

fl::StatusOr<bool> HoldsRun(const std::string& dir) { return fl::coordinator::HoldsRun(fl::Env::Default(), dir); }

fl::Plan MlpPlan() {
  fl::Plan p;
  p.model.name = "mlp";
  p.model.hidden = {4};
  return p;
}

// A checkpoint of `plan` with a 3-parameter layout, as the coordinator writes it.
void WriteModel(const fl::testing::TempDir& dir, uint64_t version, const fl::Plan& plan, float value) {
  fl::Checkpoint c;
  c.layout.tensors = {{"fc1.weight", {3}}};
  c.values = {value, value, value};
  c.metadata = fl::ModelMetadata(plan);
  c.metadata["model_version"] = std::to_string(version);
  REQUIRE(fl::WriteSafetensors(fl::Env::Default(), dir.File(VersionFile(version)), c).ok());
}

void WriteLatest(const fl::testing::TempDir& dir, uint64_t version) {
  dir.Write("latest.json", "{\"model_version\":" + std::to_string(version) + ",\"file\":\"" + VersionFile(version) + "\"}\n");
}

}  // namespace

TEST_CASE("coordinator state: an empty state_dir has nothing to resume", "[coordinator_state]") {
  fl::testing::TempDir dir;
  auto s = LoadSavedState(dir.path(), MlpPlan(), 1000);
  CHECK(s.status().code() == StatusCode::kNotFound);
}

TEST_CASE("coordinator state: the newest checkpoint, metrics and kept versions come back", "[coordinator_state]") {
  fl::testing::TempDir dir;
  const fl::Plan plan = MlpPlan();
  for (uint64_t v : {0, 2, 3}) WriteModel(dir, v, plan, static_cast<float>(v));  // v1 removed by keep_checkpoints
  WriteLatest(dir, 3);
  dir.Write("metrics.jsonl",
            "{\"round\":1,\"protocol_round\":1,\"mean_train_loss\":0.5}\n"
            "{\"round\":2,\"protocol_round\":3,\"mean_train_loss\":0.25}\n"
            "{\"round\":3,\"protocol_round\":4,\"mean_train_loss\":0.125}\n"
            "{\"final\":true,\"model_version\":3,\"hospitals\":{}}\n");
  dir.Write("model-v000002.safetensors.tmp", "partial");  // not a version file
  auto s = LoadSavedState(dir.path(), plan, 1000);
  REQUIRE(s.ok());
  CHECK(s->model_version == 3);
  CHECK(s->model.values == std::vector<float>{3, 3, 3});
  CHECK(s->model.metadata.empty());
  CHECK(s->metrics_lines.size() == 4);  // the earlier run's final report is kept
  CHECK(s->loss_history == std::vector<double>{0.5, 0.25, 0.125});
  CHECK(s->last_protocol_round == 4);
  CHECK(s->versions_on_disk == std::vector<uint64_t>{0, 2, 3});
  CHECK(s->finished);
  CHECK_FALSE(s->metrics_behind);

  SECTION("training settings may change between runs") {
    fl::Plan more = plan;
    more.training.learning_rate = 0.5;
    CHECK(LoadSavedState(dir.path(), more, 1000).ok());
  }
  SECTION("another model is refused") {
    fl::Plan other = plan;
    other.model.hidden = {8};
    auto o = LoadSavedState(dir.path(), other, 1000);
    CHECK(o.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(o.status().message(), Contains(VersionFile(3)) && Contains("another plan"));
  }
  SECTION("a model larger than allowed is refused") {
    CHECK_FALSE(LoadSavedState(dir.path(), plan, 2).ok());
  }
}

TEST_CASE("coordinator state: inconsistent or tampered files are clear errors", "[coordinator_state]") {
  fl::testing::TempDir dir;
  const fl::Plan plan = MlpPlan();
  WriteModel(dir, 2, plan, 1.0f);
  SECTION("latest.json naming another file") {
    dir.Write("latest.json", "{\"model_version\":2,\"file\":\"../../etc/passwd\"}");
    auto s = LoadSavedState(dir.path(), plan, 1000);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("latest.json") && Contains(VersionFile(2)));
  }
  SECTION("a newest checkpoint with NaN weights") {
    WriteModel(dir, 3, plan, std::numeric_limits<float>::quiet_NaN());
    WriteLatest(dir, 3);
    auto s = LoadSavedState(dir.path(), plan, 1000);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains(VersionFile(3)) && Contains("non-finite"));
  }
  SECTION("latest.json that is not JSON") {
    dir.Write("latest.json", "{model");
    CHECK(LoadSavedState(dir.path(), plan, 1000).status().code() == StatusCode::kInvalidArgument);
  }
  // A run whose files are damaged is an error, never "nothing to resume", which would
  // start afresh and overwrite it.
  SECTION("a missing checkpoint") {
    WriteLatest(dir, 5);
    auto s = LoadSavedState(dir.path(), plan, 1000);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains(VersionFile(5)));
  }
  SECTION("checkpoints without latest.json") {
    CHECK(HoldsRun(dir.path()).value());
    auto s = LoadSavedState(dir.path(), plan, 1000);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains("no latest.json"));
  }
  SECTION("a protocol round near the uint32 wrap") {
    WriteLatest(dir, 2);
    dir.Write("metrics.jsonl", "{\"round\":1,\"protocol_round\":4294967295}\n");
    CHECK_THAT(LoadSavedState(dir.path(), plan, 1000).status().message(), Contains("protocol_round out of range"));
  }
  SECTION("wrong JSON types are errors, not crashes") {
    dir.Write("latest.json", "{\"model_version\":\"2\",\"file\":7}");
    CHECK(LoadSavedState(dir.path(), plan, 1000).status().code() == StatusCode::kInvalidArgument);
    dir.Write("latest.json", "[1, 2]");
    CHECK(LoadSavedState(dir.path(), plan, 1000).status().code() == StatusCode::kInvalidArgument);
    WriteLatest(dir, 2);
    dir.Write("metrics.jsonl", "{\"round\":-1,\"protocol_round\":\"x\",\"mean_train_loss\":[1],\"final\":{}}\n");
    auto s = LoadSavedState(dir.path(), plan, 1000);
    REQUIRE(s.ok());
    CHECK(s->loss_history.empty());
    CHECK(s->metrics_behind);
  }
  SECTION("a checkpoint whose metrics line is missing") {
    WriteLatest(dir, 2);
    dir.Write("metrics.jsonl", "{\"round\":1,\"protocol_round\":1}\n");
    auto s = LoadSavedState(dir.path(), plan, 1000);
    REQUIRE(s.ok());
    CHECK(s->metrics_behind);
    CHECK_FALSE(s->finished);
  }
  SECTION("a metrics line that is not JSON, with its line number") {
    WriteLatest(dir, 2);
    dir.Write("metrics.jsonl", "{\"round\":1}\nnot json\n");
    auto s = LoadSavedState(dir.path(), plan, 1000);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("metrics.jsonl:2"));
  }
  // latest.json is the commit point of a round (run_store.h): a line of a newer round
  // belongs to a round that never committed, and is dropped with what follows it.
  SECTION("metrics of a round newer than the checkpoint never committed") {
    WriteLatest(dir, 2);
    dir.Write("metrics.jsonl", "{\"round\":1}\n{\"round\":2,\"mean_train_loss\":0.5}\n{\"round\":3,"
                               "\"mean_train_loss\":0.25}\n{\"final\":true,\"model_version\":3}\n");
    auto s = LoadSavedState(dir.path(), plan, 1000);
    REQUIRE(s.ok());
    CHECK(s->metrics_lines.size() == 2);
    CHECK(s->uncommitted_lines == 2);
    CHECK(s->loss_history == std::vector<double>{0.5});
    CHECK_FALSE(s->metrics_behind);
    CHECK_FALSE(s->finished);
  }
}

TEST_CASE("coordinator state: what counts as an earlier run, and audit round numbers", "[coordinator_state]") {
  fl::testing::TempDir dir;
  CHECK_FALSE(HoldsRun(dir.File("absent")).value());
  CHECK_FALSE(HoldsRun(dir.path()).value());
  dir.Write("notes.txt", "x");
  CHECK_FALSE(HoldsRun(dir.path()).value());
  dir.Write("metrics.jsonl", "");
  CHECK(HoldsRun(dir.path()).value());

  fl::testing::TempDir audit;
  fl::coordinator::AuditLog log(fl::Env::Default(), audit.path());
  CHECK(log.HighestRound() == 0);
  std::filesystem::create_directories(audit.File("coordinator/round-000007"));
  std::filesystem::create_directories(audit.File("coordinator/round-000012"));
  std::filesystem::create_directories(audit.File("coordinator/round-99999999999"));  // out of range: ignored
  audit.Write("coordinator/transcript.jsonl", "");
  CHECK(log.HighestRound() == 12);
}
