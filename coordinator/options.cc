#include "options.h"

#include "fl/config_reader.h"
#include "fl/endpoint.h"

namespace fl::coordinator {

StatusOr<CoordinatorOptions> ParseCoordinatorOptions(const nlohmann::json& j, const std::string& what) {
  CoordinatorOptions o;
  ConfigReader r(j, "");
  r.Get("listen", &o.listen);
  if (Status e = CheckEndpoint(o.listen, /*for_binding=*/true); !e.ok()) r.Error("listen", e.message());
  r.Get("min_workers", &o.min_workers, 3, 1u << 20);
  r.Get("max_workers", &o.max_workers, 2, 1u << 20);
  r.Get("rounds", &o.rounds, 1, 1'000'000);
  ConfigReader conv = r.Child("convergence");
  conv.Get("patience", &o.patience, 0, 1'000'000);
  conv.Get("min_delta", &o.min_delta, 0.0, 1e9);
  (void)conv.Finish();
  ConfigReader to = r.Child("timeouts");
  to.Get("admission_s", &o.admission_timeout_s, 0.1, 7 * 86400.0);
  to.Get("phase_s", &o.phase_timeout_s, 0.1, 7 * 86400.0);
  to.Get("heartbeat_s", &o.heartbeat_timeout_s, 0.5, 3600.0);
  to.Get("heartbeat_interval_s", &o.heartbeat_interval_s, 0.05, 60.0);
  to.Get("final_report_s", &o.final_report_timeout_s, 0.1, 86400.0);
  (void)to.Finish();
  r.Get("state_dir", &o.state_dir);
  r.Get("keep_checkpoints", &o.keep_checkpoints, 0, 1'000'000);
  r.Get("init_checkpoint", &o.init_checkpoint);
  r.Get("resume", &o.resume);
  r.Get("roster", &o.roster);
  r.Get("http_listen", &o.http_listen);
  ConfigReader tr = r.Child("transport");
  tr.GetEnum("security", &o.transport_security, {"curve", "insecure"});
  tr.Get("secret_key", &o.secret_key);
  if (o.transport_security == "curve" && o.secret_key.empty()) {
    tr.Error("secret_key", "is required with CURVE (make it with fl-coordinator keygen), or set security to "
                           "\"insecure\" for a loopback-only test");
  }
  (void)tr.Finish();
  if (o.transport_security == "curve" && o.roster.empty()) r.Error("roster", "is required with CURVE: it is the allow-list");
  if (o.transport_security == "insecure" && !IsLoopbackEndpoint(o.listen)) {
    r.Error("transport.security", "\"insecure\" (plain TCP) is refused for a listen address that is not loopback");
  }
  r.Get("max_model_parameters", &o.max_model_parameters, 1, 1ull << 31);
  ConfigReader sa = r.Child("secagg");
  sa.Get("clip", &o.secagg.clip, 1e-6, 1e6);
  sa.Get("max_total_weight", &o.secagg.max_total_weight, 1, 1ull << 30);
  sa.Get("max_dropout", &o.security.max_dropout, 0.0, 0.49);
  sa.Get("max_corrupt", &o.security.max_corrupt, 0.0, 0.49);
  (void)sa.Finish();
  ConfigReader so = r.Child("server_optimizer");
  so.GetEnum("kind", &o.server.kind, {"fedavg", "fedadagrad", "fedyogi", "fedadam"});
  so.Get("learning_rate", &o.server.learning_rate, 1e-4, 100.0);
  so.Get("momentum", &o.server.momentum, 0.0, 0.999);
  so.Get("beta1", &o.server.beta1, 0.0, 0.999);
  so.Get("beta2", &o.server.beta2, 0.0, 0.9999);
  so.Get("tau", &o.server.tau, 1e-9, 1.0);
  if (o.server.kind != "fedavg" && o.server.momentum > 0) {
    so.Error("momentum", "is FedAvgM's; the adaptive optimizers use beta1");
  }
  (void)so.Finish();
  ConfigReader merge = r.Child("merge");
  merge.Get("base", &o.merge.base);
  merge.Get("window_s", &o.merge.window_s, 0.0, 30 * 86400.0);
  merge.GetEnum("weighting", &o.merge.weighting, {"samples", "uniform"});
  merge.Get("lambdas", &o.merge.lambdas, 1e-6, 100.0);
  if (o.merge.lambdas.empty() || o.merge.lambdas.size() > 64) merge.Error("lambdas", "needs 1 to 64 values");
  merge.Get("max_staleness", &o.merge.max_staleness, 0, 1'000'000);
  merge.GetEnum("method", &o.merge.method, {"sum", "ties"});
  merge.Get("ties_density", &o.merge.ties_density, 1e-4, 1.0);
  (void)merge.Finish();
  if (o.merge.enabled() && !o.init_checkpoint.empty()) {
    r.Error("init_checkpoint", "a merge federation starts from merge.base; leave init_checkpoint out");
  }
  if (o.merge.enabled() && o.server.kind != "fedavg") {
    r.Error("server_optimizer", "a merge federation has no server optimizer");
  }
  if (o.merge.enabled() && o.keep_checkpoints > 0 && o.keep_checkpoints <= o.merge.max_staleness) {
    r.Error("keep_checkpoints", "a merge federation keeps the versions vectors may still be taken against: more "
                                "than merge.max_staleness, or 0 (all)");
  }
  if (r.Has("vote")) {
    ConfigReader vote = r.Child("vote");
    o.vote.enabled = true;
    for (const char* key : {"classes", "sigma_selection", "sigma_answer", "epsilon_budget"}) vote.Require(key);
    vote.Get("classes", &o.vote.classes, 2, 1000);
    vote.Get("sigma_selection", &o.vote.sigma_selection, 0.5, 60000.0);
    vote.Get("sigma_answer", &o.vote.sigma_answer, 0.5, 60000.0);
    vote.Get("threshold", &o.vote.threshold, 0.0, 1.0);
    vote.Get("epsilon_budget", &o.vote.epsilon_budget, 1e-3, 1000.0);
    vote.Get("delta", &o.vote.delta, 1e-12, 0.1);
    vote.Get("batch_queries", &o.vote.batch_queries, 1, 100000);
    vote.Get("max_queries", &o.vote.max_queries, 1, 10'000'000);
    vote.Get("max_query_bytes", &o.vote.max_query_bytes, 1024, 1ull << 31);
    (void)vote.Finish();
    if (o.merge.enabled()) r.Error("vote", "a coordinator runs a merge federation or a private vote, not both");
    if (!o.init_checkpoint.empty()) r.Error("init_checkpoint", "a private vote trains no model; leave it out");
  }
  ConfigReader plan = r.Child("plan");
  ReadPlan(plan, &o.plan);
  (void)plan.Finish();
  if (o.merge.enabled() && o.plan.personalization.method != "none") {
    r.Error("plan.personalization", "a merge federation merges whole models; leave personalization out");
  }
  if (o.min_workers > o.max_workers) r.Error("min_workers", "must not exceed max_workers");
  if (o.state_dir.empty()) r.Error("state_dir", "must not be empty");
  o.secagg.max_cohort = o.max_workers;
  if (Status s = o.secagg.Validate(); !s.ok()) r.Error("secagg", s.message());
  Status s = r.Finish();
  if (!s.ok()) return InvalidArgument(what + ": " + s.message());
  return o;
}

}  // namespace fl::coordinator
