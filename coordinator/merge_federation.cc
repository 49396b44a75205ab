#include "merge_federation.h"

#include <algorithm>
#include <cstdio>

#include "fl/crypto.h"
#include "fl/exit_codes.h"
#include "fl/fixed_point.h"
#include "fl/log.h"
#include "ties_merge.h"

namespace fl::coordinator {

namespace {
constexpr int kMaxConsecutiveFailedWindows = 20;

}  // namespace

MergeFederation::MergeFederation(MergeParts parts) : p_(parts), ledger_(parts.env, parts.options.state_dir) {
  p_.registry.SetContributionCheck([this](const wire::Contribution& c) { return Judge(c); });
}

Status MergeFederation::Open(std::optional<SavedState> saved, uint32_t highest_round) {
  const std::string& path = p_.options.merge.base;
  FL_ASSIGN_OR_RETURN(const std::string bytes, p_.env.ReadFile(path, size_t{1} << 34));
  FL_ASSIGN_OR_RETURN(base_, DecodeSafetensors(bytes, path));
  FL_RETURN_IF_ERROR(base_.layout.Validate(p_.options.max_model_parameters).WithContext(path));
  FL_RETURN_IF_ERROR(CheckModelOfPlan(base_, p_.options.plan, path));
  FL_RETURN_IF_ERROR(CheckFinite(base_, path));
  base_.metadata.clear();
  base_hash_ = crypto::HashHex(bytes);
  ledger_.SetBase(base_hash_);
  merged_ = MergeAccumulator(base_.values.size());
  next_round_ = highest_round + 1;
  if (!saved) {
    FL_RETURN_IF_ERROR(p_.store.SaveInitialModel(base_));
    FL_LOG(kInfo) << "merge federation on " << path << " (" << base_.values.size() << " parameters, BLAKE2b "
                  << base_hash_.substr(0, 16) << "...)";
    return Status::Ok();
  }
  version_ = saved->model_version;
  next_round_ = std::max(saved->last_protocol_round, highest_round) + 1;
  if (version_ > 0) {
    const std::string what = p_.options.state_dir + "/" + ServerStateFile(version_);
    if (!saved->server_state) return Status(StatusCode::kDataLoss, what + " is missing: the merge state is lost");
    const auto& meta = saved->server_state->metadata;
    auto field = [&](const char* key) { return meta.count(key) ? meta.at(key) : std::string(); };
    if (field("base_blake2b") != base_hash_) {
      return FailedPrecondition(what + ": merged against another base than " + path + "; point state_dir elsewhere");
    }
    if (field("weighting") != p_.options.merge.weighting) {
      return FailedPrecondition(what + ": its vectors were weighted \"" + field("weighting") + "\", not \"" +
                                p_.options.merge.weighting + "\" as configured");
    }
    FL_ASSIGN_OR_RETURN(merged_, MergeAccumulator::Restore(*saved->server_state, base_.values.size(), what));
  }
  FL_RETURN_IF_ERROR(ledger_.Open(*saved));
  FL_LOG(kInfo) << "merge federation resumed at version " << version_ << " (" << merged_.merged_count()
                << " vectors merged)";
  return Status::Ok();
}

AdmissionVerdict MergeFederation::Judge(const wire::Contribution& c) const {
  if (!crypto::IsLowerHex(c.base_blake2b(), 64) || !crypto::IsLowerHex(c.vector_id(), 32)) {
    return {"malformed contribution"};
  }
  if (Spent(c.vector_id())) {
    return {"this data vector is merged already (the newest merged model is version " + std::to_string(version_) +
                "); fine-tune again for a new contribution",
            wire::Abort::FEDERATION_OVER};
  }
  const std::optional<uint64_t> u = ledger_.VersionOfModel(c.base_blake2b());
  if (!u) {
    return {"the data vector was taken against a model this federation does not know; fine-tune from its base "
            "(BLAKE2b " + base_hash_.substr(0, 16) + "...) or from a merged version it published"};
  }
  if (*u > 0 && version_ - *u > p_.options.merge.max_staleness) {
    return {"the data vector was taken against merged version " + std::to_string(*u) + ", more than max_staleness " +
            std::to_string(p_.options.merge.max_staleness) + " versions behind the newest (" +
            std::to_string(version_) + "); fine-tune again from " + VersionFile(version_)};
  }
  if (p_.options.merge.method == "ties" && !c.allows_ties()) {
    return {"this federation merges with TIES, which reveals more than the sum of the vectors (docs/merging.md); "
            "set allow_ties_merging in the worker config to take part"};
  }
  for (WorkerRecord* w : p_.registry.Alive()) {
    if (w->contribution.vector_id() == c.vector_id()) {
      return {"this data vector is already offered by a connected worker", wire::Abort::REJOIN};
    }
  }
  return {};
}

std::optional<MergeFederation::Window> MergeFederation::ReadyWindow() {
  std::map<uint64_t, std::vector<uint32_t>> by_base;
  for (WorkerRecord* w : p_.registry.Alive()) {
    const std::optional<uint64_t> u = ledger_.VersionOfModel(w->contribution.base_blake2b());
    if (!u) continue;
    if (Spent(w->contribution.vector_id())) {  // rejoined after its window summed it
      p_.registry.Drop(*w, "its data vector is merged already", true);
      continue;
    }
    if (*u > 0 && version_ - *u > p_.options.merge.max_staleness) {
      p_.registry.Drop(*w, "its data vector became too stale (taken against version " + std::to_string(*u) +
                               ", the newest is " + std::to_string(version_) + ")", true);
      continue;
    }
    by_base[*u].push_back(w->id);
  }
  std::optional<Window> best;
  for (auto& [u, ids] : by_base) {
    if (ids.size() >= p_.options.min_workers && (!best || ids.size() > best->cohort.size())) {
      best = Window{u, ids};
    }
  }
  return best;
}

std::optional<MergeFederation::Window> MergeFederation::AwaitWindow() {
  // A merge federation waits for contributors as long as it runs (until SIGTERM).
  while (true) {
    const EventLoop::Wait waited = p_.loop.RunFor([&] { return ReadyWindow().has_value(); }, 3600);
    if (waited == EventLoop::Wait::kStopped) return std::nullopt;
    if (waited == EventLoop::Wait::kTimeout) continue;
    // Once enough wait, the window stays open window_s longer for more to join.
    if (p_.options.merge.window_s > 0) {
      FL_LOG(kInfo) << "a merge window opens: " << ReadyWindow()->cohort.size() << " contributors wait; merging in "
                    << p_.options.merge.window_s << " s";
      if (p_.loop.RunFor([] { return false; }, p_.options.merge.window_s) == EventLoop::Wait::kStopped) {
        return std::nullopt;
      }
    }
    p_.loop.Drain();
    if (std::optional<Window> w = ReadyWindow()) return w;
  }
}

int MergeFederation::EndAll(const std::string& reason, int code) {
  p_.metrics.SetReady(false);
  p_.registry.EndFederation(reason);
  return code;
}

int MergeFederation::Run() {
  int failures = 0;
  while (version_ < p_.options.rounds) {
    std::optional<Window> w = AwaitWindow();
    if (p_.stop || !w) return EndAll("the coordinator is stopping", kExitOk);
    bool fatal = false;
    const bool merged = MergeWindow(*w, &fatal);
    if (p_.stop) return EndAll("the coordinator is stopping", kExitOk);
    if (fatal) return kExitRuntimeError;
    if (merged) {
      failures = 0;
    } else if (++failures > kMaxConsecutiveFailedWindows) {
      FL_LOG(kError) << "giving up after " << failures << " failed windows in a row";
      return kExitRoundsFailing;
    }
  }
  FL_LOG(kInfo) << "published " << version_ << " merged versions (" << merged_.merged_count() << " vectors)";
  return EndAll("the merge federation has published its last version", kExitOk);
}

StatusOr<std::vector<float>> MergeFederation::OffsetOf(uint64_t version) const {
  const std::string path = p_.options.state_dir + "/" + VersionFile(version);
  FL_ASSIGN_OR_RETURN(Checkpoint m, ReadSafetensors(p_.env, path));
  FL_RETURN_IF_ERROR(CheckSameLayout(base_.layout, m.layout, path));
  for (size_t i = 0; i < m.values.size(); ++i) m.values[i] -= base_.values[i];
  return m.values;
}

MergeFederation::Scores MergeFederation::ScoreLambdas(const std::vector<uint32_t>& cohort,
                                                      const std::vector<float>& direction) {
  RoundSpec spec;
  spec.kind = wire::RoundStart::MERGE_SCORES;
  spec.cohort = cohort;
  spec.model_version = version_;
  spec.lambdas = p_.options.merge.lambdas;
  spec.dimension = spec.lambdas.size();
  spec.payload = {&base_.values, &direction};
  spec.fixed_point = p_.options.secagg;
  spec.fixed_point.clip = 1.0;  // scores are shares in [0, 1]
  Scores out;
  out.protocol_round = next_round_;
  // The workers would refuse so small a cohort.
  if (cohort.size() - p_.registry.Departed(cohort).size() < p_.options.min_workers) return out;
  StatusOr<RoundResult> round = p_.rounds.Run(next_round_++, spec);
  if (!round.ok()) return out;
  if (Status s = p_.audit.RecordSum(round->protocol_round, round->sum); !s.ok()) FL_LOG(kWarning) << s.ToString();
  StatusOr<DecodedAverage> scores = DecodeWeightedSum(round->sum, spec.fixed_point);
  if (!scores.ok()) {
    FL_LOG(kWarning) << "lambda scores: " << scores.status().ToString();
    return out;
  }
  out.values = std::move(scores->average);
  out.validation_samples = static_cast<double>(scores->total_weight);
  out.survivors = round->survivors;
  return out;
}

bool MergeFederation::MergeWindow(const Window& w, bool* fatal) {
  const Env::Time started = p_.env.Now();
  // Vectors against a merged version are re-based onto B0 with that version's offset and
  // lambda (read before the round, so that nothing can fail once their sum is known) and
  // count less the more versions have been published since.
  std::optional<std::vector<float>> offset;
  MergeAccumulator::Origin origin;
  if (w.base_version > 0) {
    StatusOr<std::vector<float>> o = OffsetOf(w.base_version);
    const std::optional<double> lambda_u = ledger_.LambdaOf(w.base_version);
    if (!o.ok() || !lambda_u) {
      FL_LOG(kError) << "cannot re-base vectors against version " << w.base_version << ": "
                     << (o.ok() ? "its lambda is not in metrics.jsonl" : o.status().ToString());
      *fatal = true;
      return false;
    }
    offset = std::move(o).value();
    origin = {&*offset, *lambda_u};
  }
  RoundSpec spec;
  spec.kind = wire::RoundStart::MERGE_VECTORS;
  spec.cohort = w.cohort;
  spec.model_version = version_;
  spec.dimension = base_.values.size();
  spec.fixed_point = p_.options.secagg;
  spec.uniform_weight = p_.options.merge.weighting == "uniform";
  // Uniform weights sum to at most the cohort: a finer scale for the same ring.
  if (spec.uniform_weight) spec.fixed_point.max_total_weight = spec.fixed_point.max_cohort;
  if (p_.options.merge.method == "ties") spec.ties_density = p_.options.merge.ties_density;
  const uint32_t vector_round = next_round_;
  StatusOr<RoundResult> round = p_.rounds.Run(next_round_++, spec);
  if (!round.ok()) return false;
  std::vector<std::string> ids, names;
  for (uint32_t id : round->survivor_ids) {
    if (const WorkerRecord* r = p_.registry.Find(id)) {
      ids.push_back(r->contribution.vector_id());
      names.push_back(r->name);
    }
  }
  // Their sum is known now: these vectors are never summed again, whatever happens next.
  if (Status s = ledger_.RecordSpent(ids); !s.ok()) {
    FL_LOG(kError) << "cannot record the vectors summed in round " << vector_round << ": " << s.ToString();
    *fatal = true;
    return false;
  }
  if (Status s = p_.audit.RecordSum(round->protocol_round, round->sum); !s.ok()) FL_LOG(kWarning) << s.ToString();
  StatusOr<DecodedAverage> mean = DecodeWeightedSum(round->sum, spec.fixed_point);
  if (!mean.ok()) {
    FL_LOG(kWarning) << "merge window: " << mean.status().ToString();
    return false;
  }
  // TIES: the window's vectors are merged by the disjoint mean of a second sum.
  std::optional<TiesWindow> ties;
  if (spec.ties_density > 0) ties = MergeWithTies(p_.rounds, p_.registry, p_.audit, next_round_++, spec, *round, *mean);
  const uint64_t staleness = w.base_version > 0 ? version_ - w.base_version : 0;
  const double alpha = StalenessWeight(staleness);
  MergeAccumulator next = merged_;
  next.Add(ties ? ties->mean : mean->average, static_cast<double>(mean->total_weight), origin, alpha, ids);
  const std::vector<float> direction = next.Direction();

  const Scores scores = ScoreLambdas(round->survivor_ids, direction);
  const std::vector<double>& lambdas = p_.options.merge.lambdas;
  double lambda = ledger_.LambdaOf(version_).value_or(1.0);
  nlohmann::json scored = nlohmann::json::array();
  if (scores.values.size() == lambdas.size()) {
    for (size_t i = 0; i < lambdas.size(); ++i) {
      scored.push_back({{"lambda", lambdas[i]}, {"validation_score", scores.values[i]}});
    }
    FixedPointParams fp = p_.options.secagg;
    fp.clip = 1.0;
    // Scores closer than the fixed-point encoding resolves are ties.
    lambda = BestLambda(lambdas, scores.values,
                        static_cast<double>(scores.survivors) / (fp.Scale() * std::max(1.0, scores.validation_samples)));
  } else {
    FL_LOG(kWarning) << "the lambda scoring round did not complete; version " << version_ + 1 << " keeps lambda "
                     << lambda;
  }
  const std::vector<float> model = next.Model(base_.values, lambda);
  const uint64_t version = version_ + 1;
  const double seconds = ToSeconds(p_.env.Now() - started);
  nlohmann::json line = {{"round", version},
                         {"model_version", version},
                         {"kind", "merge"},
                         {"protocol_round", scores.protocol_round},
                         {"vector_round", vector_round},
                         {"invited", round->invited},
                         {"cohort_size", round->survivors},
                         {"hospitals", names},
                         {"base_version", w.base_version},
                         {"staleness", staleness},
                         {"staleness_weight", alpha},
                         {"window_weight", mean->total_weight},
                         {"weighting", p_.options.merge.weighting},
                         {"method", p_.options.merge.method},
                         {"vectors_merged", next.merged_count()},
                         {"lambda", lambda},
                         {"lambda_scores", scored},
                         {"validation_samples", scores.validation_samples},
                         {"seconds", seconds},
                         {"committed_at", IsoTime(p_.env.WallTime())}};
  if (ties) line["ties"] = ties->summary;
  Checkpoint state = next.Save(base_.layout);
  state.metadata["base_blake2b"] = base_hash_;
  state.metadata["weighting"] = p_.options.merge.weighting;
  if (Status s = p_.store.CommitRound(Checkpoint{base_.layout, model, {}}, version, line, state); !s.ok()) {
    FL_LOG(kError) << "cannot record merged version " << version << ": " << s.ToString();
    *fatal = true;
    return false;
  }
  merged_ = std::move(next);
  version_ = version;
  if (Status s = ledger_.RecordVersion(version, lambda); !s.ok()) FL_LOG(kWarning) << s.ToString();
  p_.metrics.RoundCompleted(seconds, round->survivors);
  p_.metrics.SetCheckpointVersion(version);
  char summary[200];
  std::snprintf(summary, sizeof summary, "merged version %llu: %zu vectors in this window (%zu in all), lambda %.3g",
                static_cast<unsigned long long>(version), round->survivors, merged_.merged_count(), lambda);
  FL_LOG(kInfo) << summary;
  // The window's contributors get the merged model, report its test metrics and leave;
  // one that does not report in time is let go all the same (its vector is merged).
  const nlohmann::json reports = p_.reports.Collect(model, version, round->survivor_ids);
  for (uint32_t id : round->survivor_ids) {
    if (WorkerRecord* r = p_.registry.Find(id); r && r->alive) {
      p_.registry.Drop(*r, "its data vector is merged into version " + std::to_string(version), true);
    }
  }
  if (Status s = p_.store.AppendLine({{"reports_of_version", version}, {"time", IsoTime(p_.env.WallTime())},
                                      {"hospitals", reports}});
      !s.ok()) {
    FL_LOG(kError) << "cannot record the reports of version " << version << ": " << s.ToString();
  }
  return true;
}

}  // namespace fl::coordinator
