#include "round_runner.h"

#include <algorithm>
#include <thread>

#include "fl/log.h"
#include "fl/metrics_wire.h"

namespace fl::coordinator {

RoundRunner::RoundRunner(EventLoop& loop, WorkerRegistry& registry, Env& env, AuditLog& audit,
                         const CoordinatorOptions& options, const secagg::Roster* roster, const std::string& session,
                         CoordinatorMetrics& metrics)
    : loop_(loop), registry_(registry), env_(env), audit_(audit), options_(options), roster_(roster),
      session_(session), metrics_(metrics) {}

namespace {
// A bounded label for /metrics from an abandoned round's reason.
std::string AbortLabel(const std::string& reason) {
  if (reason.find("stopping") != std::string::npos) return "stopping";
  if (reason.find("only ") != std::string::npos) return "too_few_workers";
  return "protocol_error";
}
}  // namespace

RoundRunner::~RoundRunner() = default;

void RoundRunner::OnDrop(uint32_t id) {
  if (!round_) return;
  if (std::count(cohort_.begin(), cohort_.end(), id)) ++phase_drops_;
  round_->Drop(id);  // the round goes on without it if enough remain
}

void RoundRunner::OnMessage(WorkerRecord& w, const Message& m) {
  if (!round_ || m.round() != round_id_) {
    FL_LOG(kDebug) << "ignored a late " << TypeName(m.type()) << " for round " << m.round() << " from " << w.name;
    return;
  }
  wire::SecAggClientMessage msg;
  Status s = UnpackBody(m, &msg);
  const bool masked = s.ok() && msg.step_case() == wire::SecAggClientMessage::kMaskedInput;
  if (s.ok()) s = ExpectPayloadFrames(m, masked ? 1 : 0);
  if (s.ok() && audit_.enabled()) {
    const auto* field = wire::SecAggClientMessage::descriptor()->FindFieldByNumber(msg.step_case());
    audit_.RecordMessage(w.id, w.name, m, field ? field->name() : TypeName(m.type()));
  }
  if (s.ok() && masked) {
    StatusOr<nlohmann::json> metrics = MetricsToJson(msg.masked_input().metrics());
    StatusOr<RingVector> vec = ReadRingFrame(m.payload[0], m.payload[0].size() / sizeof(uint32_t), "masked input");
    s = metrics.ok() ? vec.status() : metrics.status();
    if (s.ok()) s = round_->Receive(w.id, msg, vec->data(), vec->size());
    if (s.ok()) reported_[w.id] = std::move(metrics).value();
  } else if (s.ok()) {
    s = round_->Receive(w.id, msg);
  }
  if (!s.ok()) {
    // The worker leaves this round (the protocol treats it as dropped) and is told why.
    FL_LOG(kWarning) << "round " << round_id_ << ": rejected a message from worker " << w.id << " (" << w.name
                     << "): " << s.message();
    registry_.SendAbort(w, round_id_, "rejected: " + s.message());
  }
}

void RoundRunner::Send(const std::vector<secagg::Outgoing>& out) {
  for (const secagg::Outgoing& o : out) {
    WorkerRecord* w = registry_.Find(o.to);
    if (!w || !w->alive) continue;
    registry_.Send(*w, MakeMessage(wire::SECAGG_SERVER, session_, round_id_, 0, &o.message));
  }
}

void RoundRunner::Abandon(const std::string& reason) {
  metrics_.RoundAborted(AbortLabel(reason));
  FL_LOG(kWarning) << "protocol round " << round_id_ << " abandoned: " << reason
                   << "; restarting with the remaining workers";
  for (uint32_t id : cohort_) {
    WorkerRecord* w = registry_.Find(id);
    if (w && w->alive) registry_.SendAbort(*w, round_id_, "round abandoned: " + reason);
  }
  round_.reset();
}

StatusOr<RoundResult> RoundRunner::Run(uint32_t protocol_round, const std::vector<float>& model,
                                       uint64_t model_version) {
  RoundSpec spec;
  spec.model_version = model_version;
  spec.dimension = model.size();
  spec.payload = {&model};
  spec.fixed_point = options_.secagg;
  return Run(protocol_round, spec);
}

StatusOr<RoundResult> RoundRunner::Run(uint32_t protocol_round, const RoundSpec& spec) {
  cohort_.clear();
  if (!spec.cohort) {
    for (WorkerRecord* w : registry_.Alive()) cohort_.push_back(w->id);
  } else {
    for (uint32_t id : *spec.cohort) {
      const WorkerRecord* w = registry_.Find(id);
      if (w && w->alive) cohort_.push_back(id);
    }
  }
  const uint64_t d = spec.dimension;
  const uint64_t model_version = spec.model_version;
  round_id_ = protocol_round;
  secagg::ServerConfig sc;
  sc.round = secagg::RoundId{session_, round_id_};
  sc.cohort = cohort_;
  sc.vector_length = d + 1;
  sc.security = options_.security;
  sc.min_cohort = options_.min_workers;
  sc.min_survivors = spec.min_survivors;
  sc.roster = roster_;
  sc.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  round_ = std::make_unique<secagg::SecAggServer>(sc);
  reported_.clear();
  const Env::Time started = env_.Now();
  static const char* const kWhat[] = {"training model version", "merging data vectors for version",
                                      "scoring lambdas for version", "selecting confident queries",
                                      "releasing labels", "agreeing on TIES signs for version"};
  const bool vote = spec.kind == wire::RoundStart::VOTE_SELECTION || spec.kind == wire::RoundStart::VOTE_ANSWER;
  FL_LOG(kInfo) << "protocol round " << round_id_ << ": " << kWhat[spec.kind] << " "
                << (vote ? "(" + std::to_string(d / std::max(1u, spec.vote_classes)) + " queries)"
                         : std::to_string(model_version + 1))
                << " with " << cohort_.size() << " workers";

  wire::RoundStart start;
  for (uint32_t id : cohort_) start.add_cohort(id);
  start.set_dimension(d);
  start.set_model_version(model_version);
  start.set_clip(spec.fixed_point.clip);
  start.set_max_total_weight(spec.fixed_point.max_total_weight);
  start.set_ring_bits(spec.fixed_point.ring_bits);
  start.set_max_cohort(spec.fixed_point.max_cohort);
  start.set_kind(spec.kind);
  start.set_uniform_weight(spec.uniform_weight);
  for (double l : spec.lambdas) start.add_lambdas(l);
  start.set_vote_sigma(spec.vote_sigma);
  start.set_vote_guarantee(spec.min_survivors);
  start.set_vote_classes(spec.vote_classes);
  start.set_ties_density(spec.ties_density);
  for (uint32_t id : spec.required_survivors) start.add_required_survivors(id);
  for (uint32_t id : cohort_) {
    Message m = MakeMessage(wire::ROUND_START, session_, round_id_, 0, &start);
    for (const std::vector<float>* frame : spec.payload) m.payload.push_back(FloatFrame(frame->data(), frame->size()));
    registry_.Send(*registry_.Find(id), std::move(m));
  }

  metrics_.RoundStarted(round_id_, model_version);
  while (!round_->done()) {
    const std::string phase = round_->phase_name();
    metrics_.PhaseStarted(phase);
    phase_drops_ = 0;
    const Env::Time phase_started = env_.Now();
    const EventLoop::Wait waited = loop_.RunFor([&] { return round_->ReadyToClose(); }, options_.phase_timeout_s);
    if (waited == EventLoop::Wait::kStopped) {
      Abandon("the coordinator is stopping");
      return Aborted("the coordinator is stopping");
    }
    if (waited == EventLoop::Wait::kTimeout) {
      for (uint32_t id : round_->Pending()) {
        FL_LOG(kWarning) << "worker " << id << " (" << registry_.NameOf(id) << ") did not answer in phase " << phase
                         << "; continuing without it";
        round_->Drop(id);
        ++phase_drops_;
      }
    }
    metrics_.PhaseEnded(phase, ToSeconds(env_.Now() - phase_started), phase_drops_);
    StatusOr<std::vector<secagg::Outgoing>> out = round_->Close();
    if (!out.ok()) {
      const std::string reason = out.status().message();
      Abandon(reason);
      return Aborted(reason);
    }
    Send(*out);
  }
  RoundResult r;
  r.protocol_round = round_id_;
  r.params = round_->params();
  r.invited = cohort_.size();
  r.survivors = round_->survivors().size();
  r.survivor_ids.assign(round_->survivors().begin(), round_->survivors().end());
  for (const auto& [id, metrics] : reported_) {
    if (round_->survivors().count(id)) r.hospitals[registry_.NameOf(id)] = metrics;
  }
  StatusOr<RingVector> sum = round_->TakeResult();
  round_.reset();
  FL_RETURN_IF_ERROR(sum.status());
  r.sum = std::move(sum).value();
  r.seconds = ToSeconds(env_.Now() - started);
  FL_LOG(kDebug) << "secure aggregation: " << r.survivors << " inputs, k=" << r.params.k << ", t=" << r.params.t;
  return r;
}

}  // namespace fl::coordinator
