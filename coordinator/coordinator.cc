#include "coordinator.h"

#include <cmath>

#include "audit_log.h"
#include "event_loop.h"
#include "final_reports.h"
#include "fl/crypto.h"
#include "fl/exit_codes.h"
#include "fl/fixed_point.h"
#include "fl/log.h"
#include "initial_model.h"
#include "merge_federation.h"
#include "metrics.h"
#include "round_runner.h"
#include "run_store.h"
#include "saved_state.h"
#include "transport_setup.h"
#include "vote_federation.h"
#include "worker_registry.h"

namespace fl::coordinator {
namespace {
constexpr int kMaxConsecutiveFailedRounds = 20;
}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, Transport& transport, Env& env, std::string audit_dir,
                         CoordinatorMetrics& metrics)
    : options_(std::move(options)),
      transport_(transport),
      env_(env),
      audit_dir_(std::move(audit_dir)),
      metrics_(metrics),
      server_optimizer_(options_.server) {}

Coordinator::~Coordinator() = default;

Status Coordinator::Start() {
  FL_RETURN_IF_ERROR(crypto::Init());
  if (!options_.roster.empty()) {
    FL_ASSIGN_OR_RETURN(secagg::Roster roster, secagg::Roster::Load(env_, options_.roster));
    roster_ = std::move(roster);
    FL_LOG(kInfo) << "roster " << options_.roster << ": " << roster_->size() << " hospitals may join";
  }
  session_.resize(kSessionIdBytes);
  crypto::RandomBytes(session_.data(), session_.size());
  const secagg::Roster* roster = roster_ ? &*roster_ : nullptr;
  registry_ = std::make_unique<WorkerRegistry>(transport_, env_, options_, roster, session_, metrics_);
  loop_ = std::make_unique<EventLoop>(transport_, env_, *registry_, session_, metrics_);
  audit_ = std::make_unique<AuditLog>(env_, audit_dir_);
  store_ = std::make_unique<RunStore>(env_, options_);
  rounds_ = std::make_unique<RoundRunner>(*loop_, *registry_, env_, *audit_, options_, roster, session_, metrics_);
  initial_ = std::make_unique<InitialModelRequest>(*loop_, *registry_, options_, session_);
  final_ = std::make_unique<FinalReports>(*loop_, *registry_, options_, session_);

  loop_->SetStopFlag(&stop_);
  loop_->On(wire::HEARTBEAT, [](WorkerRecord&, const Message&) {});
  loop_->On(wire::INIT_MODEL, [this](WorkerRecord& w, const Message& m) { initial_->OnModel(w, m); });
  loop_->On(wire::SECAGG_CLIENT, [this](WorkerRecord& w, const Message& m) { rounds_->OnMessage(w, m); });
  loop_->On(wire::FINAL_REPORT, [this](WorkerRecord& w, const Message& m) { final_->OnReport(w, m); });
  loop_->On(wire::ABORT, [this](WorkerRecord& w, const Message& m) {
    wire::Abort a;
    (void)UnpackBody(m, &a);
    registry_->Drop(w, "worker aborted: " + a.reason().substr(0, 200), false);
  });
  registry_->OnDrop([this](uint32_t id) { rounds_->OnDrop(id); });
  registry_->OnDrop([this](uint32_t id) { initial_->OnDrop(id); });

  FL_RETURN_IF_ERROR(audit_->Open());
  if (options_.merge.enabled()) {
    merge_ = std::make_unique<MergeFederation>(
        MergeParts{options_, env_, *registry_, *loop_, *rounds_, *store_, *audit_, *final_, metrics_, stop_});
    FL_ASSIGN_OR_RETURN(std::optional<SavedState> saved, store_->Open());
    FL_RETURN_IF_ERROR(merge_->Open(std::move(saved), audit_->HighestRound()));
    model_ = merge_->base();
  } else if (options_.vote.enabled) {
    vote_ = std::make_unique<VoteFederation>(
        VoteParts{options_, env_, *registry_, *loop_, *rounds_, *audit_, metrics_, session_, stop_});
    loop_->On(wire::QUERIES, [this](WorkerRecord& w, const Message& m) { vote_->OnQueries(w, m); });
    FL_RETURN_IF_ERROR(vote_->Open(audit_->HighestRound()));
    // The largest message is a student's queries.
    FL_RETURN_IF_ERROR(transport_.SetMaxMessageBytes(static_cast<int64_t>(options_.vote.max_query_bytes) + (1 << 20)));
  } else {
    FL_RETURN_IF_ERROR(LoadStartingModel());
  }
  // Once the model is known, no message may be larger than it (with its envelope); TIES
  // merging's agreement inputs hold two entries per parameter.
  const uint64_t entries_per_parameter = options_.merge.enabled() && options_.merge.method == "ties" ? 2 : 1;
  if (model_) {
    FL_RETURN_IF_ERROR(transport_.SetMaxMessageBytes(ModelMessageBytes(entries_per_parameter * model_->values.size())));
  }
  if (model_) metrics_.SetCheckpointVersion(model_version_);
  metrics_.SetReady(true);
  FL_LOG(kInfo) << "listening on " << transport_.endpoint() << ", session "
                << crypto::ToHex(reinterpret_cast<const uint8_t*>(session_.data()), 4) << "..., waiting for "
                << options_.min_workers << " workers";
  return Status::Ok();
}

Status Coordinator::LoadStartingModel() {
  FL_ASSIGN_OR_RETURN(std::optional<SavedState> saved, store_->Open());
  if (saved) {
    model_ = std::move(saved->model);
    model_version_ = saved->model_version;
    convergence_.Restore(std::move(saved->loss_history));
    next_round_id_ = std::max(saved->last_protocol_round, audit_->HighestRound()) + 1;
    resumed_ = true;
    resumed_finished_ = saved->finished;
    if (saved->server_state) {
      FL_RETURN_IF_ERROR(server_optimizer_.Restore(*saved->server_state, model_->values.size())
                             .WithContext(options_.state_dir + "/" + ServerStateFile(model_version_)));
    } else if (options_.server.stateful() && model_version_ > 0) {
      FL_LOG(kWarning) << "no saved server optimizer state at model version " << model_version_
                       << ": the optimizer starts from zero";
    }
    FL_LOG(kInfo) << "resuming from " << options_.state_dir << " at model version " << model_version_ << " of "
                  << options_.rounds << (options_.init_checkpoint.empty() ? "" : " (init_checkpoint not used)");
    return Status::Ok();
  }
  next_round_id_ = audit_->HighestRound() + 1;
  if (options_.init_checkpoint.empty()) return Status::Ok();
  FL_ASSIGN_OR_RETURN(Checkpoint c, ReadSafetensors(env_, options_.init_checkpoint));
  FL_RETURN_IF_ERROR(c.layout.Validate(options_.max_model_parameters).WithContext(options_.init_checkpoint));
  // Checked before anyone is admitted: a model of another plan, or one with NaN weights,
  // would otherwise show only when every worker had refused it.
  FL_RETURN_IF_ERROR(CheckModelOfPlan(c, options_.plan, options_.init_checkpoint));
  FL_RETURN_IF_ERROR(CheckFinite(c, options_.init_checkpoint));
  c.metadata.clear();
  FL_LOG(kInfo) << "starting from " << options_.init_checkpoint << " (" << c.values.size() << " parameters)";
  model_ = std::move(c);
  return Status::Ok();
}

int Coordinator::Run() {
  if (Status s = Start(); !s.ok()) {
    FL_LOG(kError) << s.ToString();
    return kExitRuntimeError;
  }
  if (merge_) return merge_->Run();
  if (vote_) return vote_->Run();
  // A resumed run that has reached its rounds or converged trains no further.
  const bool already_trained = resumed_ && (model_version_ >= options_.rounds || Converged());
  if (already_trained && resumed_finished_) {
    FL_LOG(kInfo) << "the run in " << options_.state_dir << " finished at model version " << model_version_
                  << "; nothing to do (raise rounds, or patience, to continue it)";
    return kExitOk;
  }
  int failures = 0;
  while (!already_trained && model_version_ < options_.rounds) {
    if (!AwaitWorkers()) return stop_ ? Stopped() : kExitTooFewWorkers;
    bool fatal = false;
    const bool trained = TrainOneRound(&fatal);
    if (stop_) return Stopped();
    if (trained) {
      failures = 0;
      if (Converged()) {
        FL_LOG(kInfo) << "training loss converged after " << model_version_ << " rounds";
        break;
      }
    } else if (fatal) {
      return kExitRuntimeError;
    } else if (++failures > kMaxConsecutiveFailedRounds) {
      FL_LOG(kError) << "giving up after " << failures << " failed rounds in a row";
      return kExitRoundsFailing;
    }
  }
  // A resumed run that stopped before its final reports collects them now.
  if (already_trained && !AwaitWorkers()) return stop_ ? Stopped() : kExitTooFewWorkers;
  Finish();
  return kExitOk;
}

int Coordinator::Stopped() {
  metrics_.SetReady(false);
  const std::string reason = "the coordinator is stopping";
  for (WorkerRecord* w : registry_->Alive()) registry_->Drop(*w, reason, true);
  FL_LOG(kInfo) << "stopped at model version " << model_version_ << " of " << options_.rounds
                << " (every completed round is in " << options_.state_dir << "; a restart continues from it)";
  return kExitOk;
}

bool Coordinator::AwaitWorkers() {
  const auto enough = [&] { return registry_->alive_count() >= options_.min_workers; };
  const Env::Time deadline = env_.Now() + Seconds(options_.admission_timeout_s);
  EventLoop::Wait waited;
  while ((waited = loop_->RunUntil(enough, deadline)) == EventLoop::Wait::kReady) {
    loop_->Drain();  // workers that are already knocking join this round, not the next
    if (enough()) return true;
  }
  if (waited == EventLoop::Wait::kStopped) return false;
  const std::string reason = "the federation stopped: too few hospitals (" + std::to_string(registry_->alive_count()) +
                             " of the " + std::to_string(options_.min_workers) + " required) within " +
                             std::to_string(static_cast<int>(options_.admission_timeout_s)) + " s";
  FL_LOG(kError) << reason;
  // The connected workers are told why rather than left waiting for a round.
  for (WorkerRecord* w : registry_->Alive()) registry_->Drop(*w, reason, true);
  return false;
}

bool Coordinator::TrainOneRound(bool* fatal) {
  if (!model_) {
    StatusOr<Checkpoint> initial = initial_->Obtain();
    if (!initial.ok()) {
      FL_LOG(kWarning) << "initial model: " << initial.status().ToString();
      return false;
    }
    model_ = std::move(initial).value();
    model_version_ = 0;
    if (Status s = transport_.SetMaxMessageBytes(ModelMessageBytes(model_->values.size())); !s.ok()) {
      FL_LOG(kError) << s.ToString();
      *fatal = true;
      return false;
    }
    if (Status s = store_->SaveInitialModel(*model_); !s.ok()) {
      FL_LOG(kError) << "cannot record the initial model: " << s.ToString();
      *fatal = true;
      return false;
    }
    metrics_.SetCheckpointVersion(0);
  }
  StatusOr<RoundResult> round = rounds_->Run(next_round_id_++, model_->values, model_version_);
  if (!round.ok()) return false;
  if (Status s = CompleteRound(std::move(round).value()); !s.ok()) {
    FL_LOG(kError) << "cannot record round " << model_version_ + 1 << ": " << s.ToString();
    *fatal = true;
    return false;
  }
  return true;
}

Status Coordinator::CompleteRound(RoundResult round) {
  FL_RETURN_IF_ERROR(audit_->RecordSum(round.protocol_round, round.sum));
  FL_ASSIGN_OR_RETURN(DecodedAverage avg, DecodeWeightedSum(round.sum, options_.secagg));
  Checkpoint next = *model_;
  ServerOptimizer optimizer = server_optimizer_;
  FL_RETURN_IF_ERROR(optimizer.Step(avg.average, &next.values));
  RoundFacts facts;
  facts.protocol_round = round.protocol_round;
  facts.model_version = model_version_ + 1;
  facts.rounds = options_.rounds;
  facts.invited = round.invited;
  facts.survivors = round.survivors;
  facts.params = round.params;
  facts.seconds = round.seconds;
  facts.total_weight = avg.total_weight;
  facts.hospitals = std::move(round.hospitals);
  facts.committed_at = IsoTime(env_.WallTime());
  FL_RETURN_IF_ERROR(store_->CommitRound(next, facts.model_version, RoundRecord(facts), optimizer.State()));
  // Committed: only now does the coordinator's own state move on.
  model_ = std::move(next);
  server_optimizer_ = std::move(optimizer);
  model_version_ = facts.model_version;
  const double loss = MeanTrainLoss(facts);
  if (std::isfinite(loss)) convergence_.Add(loss);
  metrics_.RoundCompleted(facts.seconds, facts.survivors);
  metrics_.SetCheckpointVersion(model_version_);
  FL_LOG(kInfo) << RoundSummary(facts);
  return Status::Ok();
}

bool Coordinator::Converged() const { return convergence_.Converged(options_.patience, options_.min_delta); }

void Coordinator::Finish() {
  registry_->CloseAdmission("training is over");
  metrics_.SetReady(false);
  const nlohmann::json hospitals = final_->Collect(model_ ? model_->values : std::vector<float>{}, model_version_);
  if (Status s = store_->AppendLine({{"final", true}, {"time", IsoTime(env_.WallTime())},
                                     {"model_version", model_version_}, {"hospitals", hospitals}});
      !s.ok()) {
    FL_LOG(kError) << "cannot record the final reports: " << s.ToString();
  }
}

}  // namespace fl::coordinator
