// Fuzz target: the files a coordinator reads back from its state_dir and audit directory
// when it restarts, the roster and an identity key file. Input: one byte of flags, then
// chunks: latest.json, metrics.jsonl, the checkpoint (stored under the name latest.json
// asks for, when it can be read from it), other file names in state_dir (one per line; each
// holds the checkpoint), a roster (JSON), an identity key file (JSON), and names of entries
// in the audit directory (one per line).
//   flags & 1: no latest.json;  flags & 2: no metrics.jsonl
// LoadSavedState runs over an in-memory Env (tests/support/mem_env.h) with the default plan.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_log.h"
#include "fl/config_reader.h"
#include "fl/plan.h"
#include "fl/secagg/identity.h"
#include "fuzz_files.h"
#include "fuzz_input.h"
#include "mem_env.h"
#include "saved_state.h"
#include "secagg_fixture.h"

namespace {


std::vector<std::string> Lines(const std::string& text, size_t max) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size() && out.size() < max) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.size() < 200 && line.find('/') == std::string::npos) out.push_back(line);
    start = end + 1;
  }
  return out;
}

// The default plan (an MLP), whose model the seeds' checkpoints hold.
const fl::Plan& RunPlan() {
  static const fl::Plan p;
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  fuzz::InitDeterministicCrypto();
  fuzz::Input in(data, size);
  const uint8_t flags = in.U8();
  const std::string latest = in.Chunk(), metrics = in.Chunk(), checkpoint = in.Chunk();
  const std::vector<std::string> names = Lines(in.Chunk(), 8);
  const std::string roster = in.Chunk(), identity = in.Chunk();
  const std::vector<std::string> audit_names = Lines(in.Chunk(), 8);

  testing::MemEnv env;
  const std::string dir = "/state";
  FUZZ_CHECK(env.MakeDirs(dir).ok());
  if (!(flags & 1)) FUZZ_CHECK(env.WriteFile(dir + "/latest.json", latest).ok());
  if (!(flags & 2)) FUZZ_CHECK(env.WriteFile(dir + "/metrics.jsonl", metrics).ok());
  const nlohmann::json l = nlohmann::json::parse(latest, nullptr, /*allow_exceptions=*/false);
  if (l.is_object() && l.contains("model_version") && l["model_version"].is_number_unsigned()) {
    FUZZ_CHECK(env.WriteFile(dir + "/" + coordinator::VersionFile(l["model_version"].get<uint64_t>()), checkpoint).ok());
  }
  for (const std::string& n : names) (void)env.WriteFile(dir + "/" + n, checkpoint);

  (void)coordinator::HoldsRun(env, dir);
  StatusOr<coordinator::SavedState> s = coordinator::LoadSavedState(env, dir, RunPlan(), 100'000'000);
  if (s.ok()) {
    FUZZ_CHECK(s->model.layout.dimension() == s->model.values.size());
    FUZZ_CHECK(s->model.metadata.empty() && CheckFinite(s->model, "saved").ok());
    FUZZ_CHECK(s->loss_history.size() <= s->metrics_lines.size());
    for (size_t i = 0; i < s->versions_on_disk.size(); ++i) {
      FUZZ_CHECK(s->versions_on_disk[i] <= s->model_version);
      if (i > 0) FUZZ_CHECK(s->versions_on_disk[i - 1] < s->versions_on_disk[i]);
    }
  }
  (void)coordinator::CheckModelOfPlan(Checkpoint{}, RunPlan(), "empty");

  StatusOr<nlohmann::json> r = ParseJsonText(roster, "roster.json");
  if (r.ok()) {
    StatusOr<secagg::Roster> ro = secagg::Roster::FromJson(*r, "roster.json");
    if (ro.ok()) {
      StatusOr<secagg::Roster> again = secagg::Roster::FromJson(ro->ToJson(), "round trip");
      FUZZ_CHECK(again.ok() && again->size() == ro->size());
    }
  }
  (void)secagg::Identity::Load(fuzz::WriteScratch("identity.json", identity, 0600));

  coordinator::AuditLog audit(env, "/audit");
  FUZZ_CHECK(audit.Open().ok());
  for (const std::string& n : audit_names) (void)env.MakeDirs("/audit/coordinator/" + n);
  FUZZ_CHECK(audit.HighestRound() < (1u << 31));
  return 0;
}
