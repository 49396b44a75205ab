#include "options.h"

#include "data_options.h"

#include "fl/config_reader.h"
#include "fl/endpoint.h"
#include "fl/names.h"

namespace fl::worker {

StatusOr<WorkerOptions> ParseWorkerOptions(const nlohmann::json& j, const std::string& what) {
  WorkerOptions o;
  ConfigReader r(j, "");
  if (r.Require("name")) r.Get("name", &o.name);
  r.Get("coordinator", &o.coordinator);
  r.Get("coordinator_public_key", &o.coordinator_public_key);
  r.Get("insecure", &o.insecure);
  if (o.insecure && !IsLoopbackEndpoint(o.coordinator)) {
    r.Error("insecure", "plain TCP is refused to a coordinator that is not on loopback");
  }
  if (Status e = CheckEndpoint(o.coordinator, /*for_binding=*/false); !e.ok()) r.Error("coordinator", e.message());
  r.Get("seed", &o.seed, 0, UINT64_MAX);
  r.Get("min_cohort", &o.min_cohort, 3, 1u << 20);
  r.Get("min_survivors", &o.min_survivors, 3, 1u << 20);
  r.Get("output_model", &o.output_model);
  r.Get("state_dir", &o.state_dir);
  r.Get("validation_fraction", &o.validation_fraction, 0.0, 0.5);
  r.Get("allow_ties_merging", &o.allow_ties_merging);
  r.Get("ties_density", &o.ties_density, 1e-4, 1.0);
  r.Get("min_vote_sigma", &o.min_vote_sigma, 0.5, 60000.0);
  r.Get("vote_epsilon_budget", &o.vote_epsilon_budget, 1e-3, 1000.0);
  r.Get("vote_delta", &o.vote_delta, 1e-12, 0.1);
  r.Get("identity_key", &o.identity_key);
  r.Get("roster", &o.roster);
  ConfigReader sa = r.Child("secagg");
  sa.Get("max_dropout", &o.security.max_dropout, 0.0, 0.49);
  sa.Get("max_corrupt", &o.security.max_corrupt, 0.0, 0.49);
  (void)sa.Finish();

  ConfigReader d = r.Child("data");
  ReadDataSection(d, &o.data);
  (void)d.Finish();

  ConfigReader dev = r.Child("device");
  dev.Get("type", &o.device.device);
  int64_t threads = 0;
  dev.Get("threads", &threads, 0, 1024);
  o.device.threads = static_cast<int>(threads);
  const std::string& t = o.device.device;
  if (!(t == "auto" || t == "cpu" || t == "cuda" || t.rfind("cuda:", 0) == 0)) {
    dev.Error("type", "expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", got \"" + t + "\"");
  }
  (void)dev.Finish();

  ConfigReader to = r.Child("timeouts");
  to.Get("connect_s", &o.connect_timeout_s, 0.0, 86400.0);
  to.Get("idle_s", &o.idle_timeout_s, 0.2, 7 * 86400.0);
  to.Get("heartbeat_interval_s", &o.heartbeat_interval_s, 0.05, 60.0);
  (void)to.Finish();
  if (!o.name.empty() && !IsValidName(o.name)) {
    r.Error("name", "use 1-64 characters of [A-Za-z0-9._-], got \"" + o.name.substr(0, 64) + "\"");
  }
  Status s = r.Finish();
  if (!s.ok()) return InvalidArgument(what + ": " + s.message());
  return o;
}

uint64_t TrainingSeed(const WorkerOptions& o, uint64_t plan_seed) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the name
  for (unsigned char c : o.name) h = (h ^ c) * 1099511628211ull;
  return plan_seed + o.seed + (h & 0xFFFFFFFFull);
}


}  // namespace fl::worker
