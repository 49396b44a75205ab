#include "worker_client.h"

#include "fl/crypto.h"
#include "fl/exit_codes.h"
#include "fl/log.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "training/personalized_trainer.h"
#include "student_queries.h"
#include "validation_split.h"

namespace fl::worker {

TrainerFactory LibTorchTrainerFactory(const WorkerOptions& options) {
  return [device = options.device, options](const Plan& plan, data::Split data) {
    return Trainer::Create(plan, std::move(data), device, TrainingSeed(options, plan.training.seed));
  };
}

WorkerClient::WorkerClient(WorkerOptions options, data::Split data, secagg::Identity identity, secagg::Roster roster,
                           Transport& transport, Env& env, TrainerFactory make_trainer, std::string audit_plaintext_dir,
                           VoteNoiseSource* vote_noise)
    : options_(std::move(options)),
      identity_(std::move(identity)),
      roster_(std::move(roster)),
      transport_(transport),
      env_(env),
      make_trainer_(std::move(make_trainer)),
      data_(std::move(data)),
      audit_(env, std::move(audit_plaintext_dir), options_.name),
      vote_noise_(vote_noise),
      rounds_(options_, identity_, roster_, *this, audit_),
      final_(options_, env, *this) {}

WorkerClient::~WorkerClient() = default;

Status WorkerClient::Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
                          std::vector<Frame> payload) {
  Message m = MakeMessage(type, who_.session, round, who_.worker_id, body);
  m.payload = std::move(payload);
  return transport_.Send(kServerPeer, std::move(m));
}

Status WorkerClient::SendHello() {
  wire::Hello hello;
  hello.set_name(options_.name);
  hello.set_protocol_version(kProtocolVersion);
  if (vector_) {
    hello.mutable_contribution()->set_base_blake2b(vector_->base_blake2b);
    hello.mutable_contribution()->set_vector_id(vector_->vector_id);
    hello.mutable_contribution()->set_allows_ties(options_.allow_ties_merging);
  }
  if (ballot_) hello.set_vote_role(wire::Hello::TEACHERS);
  if (ballot_) hello.set_vote_record_floats(static_cast<uint32_t>(ballot_->record_floats()));
  if (options_.vote_role == WorkerOptions::VoteRole::kStudent) hello.set_vote_role(wire::Hello::STUDENT);
  const Env::Duration wait = backoff_.Next();
  next_hello_ = env_.Now() + wait;  // asked again if no WELCOME by then
  if (backoff_.attempt() > 1) {
    FL_LOG(kInfo) << "asking to join again (attempt " << backoff_.attempt() << "); next try in "
                  << static_cast<int>(ToSeconds(wait) + 0.5) << " s without an answer";
  }
  return Send(wire::HELLO, 0, &hello);
}

Status WorkerClient::LoseSession(const std::string& reason) {
  if (options_.once) return Aborted(reason);
  rounds_.Abandon(reason);
  rounds_.Settle();
  who_ = Membership{};
  const Env::Duration wait = backoff_.Next();
  next_hello_ = env_.Now() + wait;
  FL_LOG(kWarning) << "session lost: " << reason << "; asking to rejoin in " << static_cast<int>(ToSeconds(wait) + 0.5)
                   << " s (attempt " << backoff_.attempt() << ")";
  return Status::Ok();
}

int WorkerClient::Run() {
  if (Status s = crypto::Init(); !s.ok()) {
    FL_LOG(kError) << s.ToString();
    return kExitRuntimeError;
  }
  if (options_.contribute) {
    if (Status c = LoadContribution(); !c.ok()) {
      FL_LOG(kError) << c.ToString();
      return kExitConfigError;
    }
  }
  if (options_.vote_role == WorkerOptions::VoteRole::kTeachers) {
    StatusOr<TeacherBallot> ballot = TeacherBallot::Open(options_, data_->train, vote_noise_);
    if (!ballot.ok()) {
      FL_LOG(kError) << ballot.status().ToString();
      return kExitConfigError;
    }
    ballot_ = std::move(ballot).value();
    inputs_.ballot = &*ballot_;
  }
  FL_LOG(kInfo) << "connecting to " << transport_.endpoint();
  const Env::Time started = env_.Now();
  Env::Time last_heard = started, last_beat = started;
  next_hello_ = started;
  bool finished = false;
  Status s = Status::Ok();
  while (s.ok() && !finished && !over_ && !stop_) {
    const bool joined = who_.worker_id != 0;
    if (!joined && env_.Now() >= next_hello_) s = SendHello();
    if (auto ev = transport_.Receive(std::chrono::milliseconds(50)); ev && s.ok()) {
      if (ev->kind == TransportEvent::Kind::kRefused && ev->status.code() == StatusCode::kUnavailable &&
          ++handshake_failures_ < kMaxHandshakeFailures) {
        FL_LOG(kWarning) << ev->status.message() << "; trying again (" << handshake_failures_ << " of "
                         << kMaxHandshakeFailures << " in a row)";
      } else if (ev->kind == TransportEvent::Kind::kRefused) {
        s = PermissionDenied("could not join: " + ev->status.message() +
                             " (is this hospital in the coordinator's roster, and coordinator_public_key its key?)");
      } else if (ev->kind == TransportEvent::Kind::kRejected) {
        FL_LOG(kWarning) << "ignored a malformed message from the coordinator: " << ev->status.message();
      } else if (ev->kind == TransportEvent::Kind::kDisconnected) {
        FL_LOG(kInfo) << "the link to the coordinator is down; reconnecting";
      } else if (ev->kind == TransportEvent::Kind::kMessage) {
        last_heard = env_.Now();
        handshake_failures_ = 0;  // a handshake completed
        s = Handle(ev->message);
        if (s.code() == StatusCode::kAborted) s = LoseSession(s.message());
      }
    }
    if (s.ok()) s = rounds_.Poll();
    if (s.ok()) s = final_.Poll(&finished);
    const Env::Time now = env_.Now();
    if (s.ok() && who_.worker_id != 0 && ToSeconds(now - last_heard) > options_.idle_timeout_s) {
      s = LoseSession("the coordinator has been silent for " + std::to_string(static_cast<int>(options_.idle_timeout_s)) +
                      " s");
    }
    if (s.ok() && !ever_joined_ && options_.connect_timeout_s > 0 &&
        ToSeconds(now - started) > options_.connect_timeout_s) {
      s = DeadlineExceeded("no answer from the coordinator at " + transport_.endpoint() + " within " +
                           std::to_string(static_cast<int>(options_.connect_timeout_s)) + " s");
    }
    if (s.ok() && who_.worker_id != 0 && ToSeconds(now - last_beat) >= options_.heartbeat_interval_s) {
      last_beat = now;
      s = Send(wire::HEARTBEAT, 0, nullptr);
    }
  }
  if (stop_ && s.ok() && !finished) {
    // Stopped (SIGTERM): the coordinator hears it now rather than at its heartbeat limit.
    rounds_.Abandon("this worker is stopping");
    if (who_.worker_id != 0) {
      wire::Abort a;
      a.set_reason("the worker was stopped");
      (void)Send(wire::ABORT, 0, &a);
    }
    FL_LOG(kInfo) << "stopped";
    return kExitOk;
  }
  if (s.ok()) return kExitOk;
  FL_LOG(kError) << s.ToString();
  if (who_.worker_id != 0 && s.code() != StatusCode::kAborted) {
    wire::Abort a;
    a.set_reason(s.message());
    (void)Send(wire::ABORT, rounds_.current_round(), &a);
  }
  return kExitRuntimeError;
}

Status WorkerClient::Handle(const Message& m) {
  if (who_.worker_id != 0 && m.envelope.session() != who_.session) {
    // Only the coordinator (its pinned key) reaches this worker: an ABORT of another
    // session is a restarted coordinator telling it to say HELLO again.
    if (m.type() == wire::ABORT && m.round() == 0) return Aborted("the coordinator restarted (a new session)");
    FL_LOG(kWarning) << "ignored a message from another session";
    return Status::Ok();
  }
  switch (m.type()) {
    case wire::WELCOME:
      return OnWelcome(m);
    case wire::INIT_REQUEST:
      return OnInitRequest();
    case wire::LABELS:
      return OnLabels(m);
    case wire::ROUND_START:
      if (!trainer_ && !(ballot_ && who_.worker_id != 0)) return FailedPrecondition("ROUND_START before WELCOME");
      if (final_.started()) {
        FL_LOG(kWarning) << "ignored a ROUND_START after the final model arrived";
        return Status::Ok();
      }
      return rounds_.Start(who_, trainer_.get(), inputs_, m);
    case wire::SECAGG_SERVER:
      return rounds_.OnSecAgg(m);
    case wire::FINISH:
      if (!trainer_) return FailedPrecondition("FINISH before WELCOME");
      if (final_.started()) return Status::Ok();  // a repeated FINISH
      rounds_.Abandon("training finished");
      rounds_.Settle();
      return final_.Start(*trainer_, plan_, m);
    case wire::ABORT:
      return OnAbort(m);
    case wire::HEARTBEAT:
      return Status::Ok();  // the coordinator is alive (Run() noted when it was heard)
    default:
      FL_LOG(kWarning) << "ignored an unexpected " << TypeName(m.type()) << " from the coordinator";
      return Status::Ok();
  }
}

Status WorkerClient::OnAbort(const Message& m) {
  wire::Abort a;
  (void)UnpackBody(m, &a);
  const std::string reason = a.reason().substr(0, 300);
  if (m.round() != 0) {
    if (rounds_.in_round(m.round())) rounds_.Abandon(reason);
    return Status::Ok();  // a round's abort (or an older round's)
  }
  switch (a.next()) {
    case wire::Abort::FEDERATION_OVER:
      FL_LOG(kInfo) << "the federation is over: " << reason;
      over_ = true;
      return Status::Ok();
    case wire::Abort::REFUSED:
      return PermissionDenied("the coordinator refused this worker: " + reason);
    default:
      return Aborted("the coordinator ended the session: " + reason);
  }
}

Status WorkerClient::OnWelcome(const Message& m) {
  if (who_.worker_id != 0) return Status::Ok();
  wire::Welcome w;
  FL_RETURN_IF_ERROR(UnpackBody(m, &w));
  if (w.worker_id() == 0 || m.envelope.session().size() != kSessionIdBytes) {
    return InvalidArgument("WELCOME without a worker id or session");
  }
  FL_ASSIGN_OR_RETURN(nlohmann::json plan_json, ParseJsonText(w.plan_json(), "training plan"));
  FL_ASSIGN_OR_RETURN(Plan plan, ParsePlan(plan_json, "plan"));
  who_.session = m.envelope.session();
  who_.worker_id = w.worker_id();
  backoff_.Reset();
  if (ever_joined_) {
    // Rejoined (a new session of the same federation): the trainer and its data stay.
    if (PlanToJson(plan) != PlanToJson(plan_)) {
      return FailedPrecondition("the federation's plan changed while this worker was away; restart the worker");
    }
    FL_LOG(kInfo) << "rejoined as worker " << who_.worker_id;
    return options_.vote_role == WorkerOptions::VoteRole::kStudent ? SendQueries() : Status::Ok();
  }
  ever_joined_ = true;
  plan_ = std::move(plan);
  if (options_.vote_role == WorkerOptions::VoteRole::kStudent || ballot_) {
    // A student asks with its samples; a teachers' hospital votes with its teachers: neither trains here.
    if (!ballot_) query_pool_ = std::move(data_->train);
    data_.reset();
    if (!ballot_) return SendQueries();
    FL_LOG(kInfo) << "joined as worker " << who_.worker_id << " with " << ballot_->teachers() << " teachers";
    return Status::Ok();
  }
  if (vector_) {
    if (plan_.personalization.method != "none") {
      return FailedPrecondition("a merge federation's plan has no personal models; this coordinator's has " +
                                plan_.personalization.method);
    }
    FL_ASSIGN_OR_RETURN(validation_, HoldOutValidation(&data_->train, options_.validation_fraction));
    inputs_.vector = &*vector_;
    inputs_.validation = &validation_;
  }
  inputs_.num_train = static_cast<int64_t>(data_->train.size());
  const size_t n_test = data_->test.size();
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> whole, make_trainer_(plan_, std::move(*data_)));
  data_.reset();
  const uint64_t all_parameters = whole->Layout().dimension();
  if (plan_.personalization.method != "none" && options_.state_dir.empty()) {
    FL_LOG(kWarning) << "no state_dir: this hospital's personal model will not survive a restart";
  }
  const std::string personal_path = options_.state_dir.empty() ? "" : PersonalModelPath(options_.state_dir);
  FL_ASSIGN_OR_RETURN(trainer_, Personalize(std::move(whole), plan_, env_, personal_path));
  if (vector_) FL_RETURN_IF_ERROR(CheckSameLayout(trainer_->Layout(), vector_->tau.layout, "the data vector"));
  initial_model_ = trainer_->Parameters();
  const uint64_t shared = trainer_->Layout().dimension();
  FL_LOG(kInfo) << "joined as worker " << who_.worker_id << ": model " << plan_.model.name << " with " << all_parameters
                << " parameters" << (shared < all_parameters ? " (" + std::to_string(shared) + " shared, " +
                                         std::to_string(all_parameters - shared) + " kept personal)" : std::string())
                << " on " << trainer_->device_name() << ", " << inputs_.num_train << " training"
                << (vector_ ? ", " + std::to_string(validation_.size()) + " validation" : std::string()) << " and " << n_test
                << " test samples";
  return Status::Ok();
}

Status WorkerClient::LoadContribution() {
  if (options_.state_dir.empty()) return InvalidArgument("contribute needs the config's state_dir (its data vector)");
  const std::string path = DataVectorPath(options_.state_dir);
  FL_ASSIGN_OR_RETURN(DataVector v, ReadDataVector(env_, path));
  if (v.validation_fraction != options_.validation_fraction) {
    return FailedPrecondition(path + ": fine-tuned with validation_fraction " + std::to_string(v.validation_fraction) +
                              ", but this config holds out " + std::to_string(options_.validation_fraction) +
                              "; lambda would be scored on training samples");
  }
  if (v.validation_fraction <= 0) {
    return FailedPrecondition(path + ": lambda is scored on a validation split; set validation_fraction > 0 and "
                              "fine-tune again");
  }
  // A vector enters one secure sum only (docs/merging.md): once sent, never again.
  const std::string sent = SentMarkerPath(options_.state_dir);
  if (env_.FileExists(sent)) {
    FL_ASSIGN_OR_RETURN(const std::string sent_id, env_.ReadFile(sent, 64));
    if (sent_id == v.vector_id) {
      return FailedPrecondition(path + " was sent to a merge federation already (" + sent +
                                "); fine-tune again for a new contribution");
    }
  }
  rounds_.OnVectorSent([this, sent, id = v.vector_id] { return env_.WriteFile(sent, id); });
  FL_LOG(kInfo) << "contributing the data vector " << v.vector_id.substr(0, 8) << "... (" << v.samples
                << " samples) taken against the model " << v.base_blake2b.substr(0, 16) << "...";
  vector_ = std::move(v);
  return Status::Ok();
}

Status WorkerClient::SendQueries() {
  FL_ASSIGN_OR_RETURN(QueryMessage q, MakeQueries(query_pool_));
  FL_LOG(kInfo) << "joined as worker " << who_.worker_id << "; asking for labels of " << query_pool_.size()
                << " samples";
  return Send(wire::QUERIES, 0, &q.body, std::move(q.payload));
}

Status WorkerClient::OnLabels(const Message& m) {
  if (options_.vote_role != WorkerOptions::VoteRole::kStudent) {
    FL_LOG(kWarning) << "ignored LABELS: this worker asked for none";
    return Status::Ok();
  }
  FL_ASSIGN_OR_RETURN(const nlohmann::json saved, SaveLabels(env_, options_.state_dir, query_pool_, m));
  const std::string note = saved["note"];
  FL_LOG(kInfo) << saved["answered"].size() << " labels for " << saved["posed"] << " of " << query_pool_.size()
                << " queries (epsilon " << saved["epsilon"] << " at delta " << saved["delta"] << ")"
                << (note.empty() ? "" : "; " + note) << "; written to " << StudentLabelsPath(options_.state_dir);
  over_ = true;
  return Status::Ok();
}

Status WorkerClient::OnInitRequest() {
  if (!trainer_) return FailedPrecondition("INIT_REQUEST before WELCOME");
  const ModelLayout layout = trainer_->Layout();
  wire::ModelLayout msg;
  for (const auto& t : layout.tensors) {
    auto* spec = msg.add_tensors();
    spec->set_name(t.name);
    for (uint64_t s : t.shape) spec->add_shape(s);
  }
  std::vector<Frame> payload;
  payload.push_back(FloatFrame(initial_model_.data(), initial_model_.size()));
  FL_LOG(kInfo) << "sent the initial (untrained) model";
  return Send(wire::INIT_MODEL, 0, &msg, std::move(payload));
}

}  // namespace fl::worker
