#include "client.h"

#include <sodium.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

#include "fl/file_util.h"
#include "fl/log.h"
#include "fl/masking.h"
#include "fl/safetensors.h"

namespace fl::worker {
namespace {

double Secs(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

void AddMetric(wire::Metrics* m, const char* name, double v) {
  if (std::isfinite(v)) (*m->mutable_values())[name] = v;
}

// "Dice 0.8123, IoU 0.7012" for segmentation, "accuracy 0.9123, AUROC 0.9567" otherwise.
std::string Summary(const EvalMetrics& m) {
  char text[96];
  if (std::isfinite(m.dice)) {
    std::snprintf(text, sizeof text, "Dice %.4f, IoU %.4f", m.dice, m.iou);
  } else {
    std::snprintf(text, sizeof text, "accuracy %.4f, AUROC %.4f", m.accuracy, m.auroc);
  }
  return text;
}

}  // namespace

WorkerClient::WorkerClient(WorkerOptions options, data::Split data, secagg::Identity identity, secagg::Roster roster,
                           std::string audit_plaintext_dir)
    : options_(std::move(options)),
      identity_(std::move(identity)),
      roster_(std::move(roster)),
      data_(std::move(data)),
      audit_dir_(std::move(audit_plaintext_dir)) {}

WorkerClient::~WorkerClient() {
  cancel_ = true;
  if (final_eval_.valid()) final_eval_.wait();
  if (round_ && round_->local.valid()) round_->local.wait();
  if (abandoned_.valid()) abandoned_.wait();
}

void WorkerClient::CrashBefore(std::string step, int round_index) {
  crash_step_ = std::move(step);
  crash_round_ = round_index;
}

Status WorkerClient::Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
                          std::vector<zmq::message_t> payload) {
  if (type == wire::SECAGG_CLIENT && !crash_step_.empty() && rounds_joined_ == crash_round_) {
    const auto* m = static_cast<const wire::SecAggClientMessage*>(body);
    const auto* field = wire::SecAggClientMessage::descriptor()->FindFieldByNumber(m->step_case());
    if (field && field->name() == crash_step_) {
      FL_LOG(kWarning) << "fault injection: exiting before sending " << crash_step_ << " in round " << round;
      std::_Exit(137);
    }
  }
  Message m = MakeMessage(type, session_, round, worker_id_, body);
  m.payload = std::move(payload);
  return dealer_->Send(std::move(m));
}

Status WorkerClient::Connect() {
  FL_RETURN_IF_ERROR(crypto::Init());
  TransportOptions t;
  FL_ASSIGN_OR_RETURN(dealer_, DealerEndpoint::Connect(options_.coordinator, t));
  wire::Hello hello;
  hello.set_name(options_.name);
  hello.set_protocol_version(kProtocolVersion);
  return Send(wire::HELLO, 0, &hello);
}

int WorkerClient::Run() {
  if (Status s = Connect(); !s.ok()) {
    FL_LOG(kError) << s.ToString();
    return 1;
  }
  FL_LOG(kInfo) << "connecting to " << options_.coordinator;
  const auto started = Clock::now();
  auto last_heard = Clock::now();
  auto last_beat = Clock::now();
  bool finished = false;
  while (!finished) {
    Status s = Status::Ok();
    if (auto in = dealer_->Receive(50)) {
      if (!in->status.ok()) {
        FL_LOG(kWarning) << "ignored a malformed message from the coordinator: " << in->status.message();
      } else {
        last_heard = Clock::now();
        s = Handle(in->message);
      }
    }
    if (s.ok()) s = MaybeSendMaskedInput();
    if (s.ok()) s = MaybeSendFinalReport(&finished);
    const auto now = Clock::now();
    if (s.ok() && worker_id_ == 0 && Secs(now - started) > options_.connect_timeout_s) {
      s = DeadlineExceeded("no answer from the coordinator at " + options_.coordinator + " within " +
                           std::to_string(options_.connect_timeout_s) + " s");
    }
    if (s.ok() && Secs(now - last_heard) > options_.idle_timeout_s) {
      s = DeadlineExceeded("the coordinator has been silent for " + std::to_string(options_.idle_timeout_s) + " s");
    }
    if (s.ok() && worker_id_ != 0 && Secs(now - last_beat) >= options_.heartbeat_interval_s) {
      last_beat = now;
      s = Send(wire::HEARTBEAT, 0, nullptr);
    }
    if (!s.ok()) {
      FL_LOG(kError) << s.ToString();
      if (worker_id_ != 0 && s.code() != StatusCode::kAborted) {
        wire::Abort a;
        a.set_reason(s.message());
        (void)Send(wire::ABORT, round_ ? round_->id : 0, &a);
      }
      return 1;
    }
  }
  return 0;
}

Status WorkerClient::Handle(const Message& m) {
  if (worker_id_ != 0 && m.envelope.session() != session_) {
    FL_LOG(kWarning) << "ignored a message from another session";
    return Status::Ok();
  }
  switch (m.type()) {
    case wire::WELCOME:
      return OnWelcome(m);
    case wire::INIT_REQUEST:
      return OnInitRequest();
    case wire::ROUND_START:
      return OnRoundStart(m);
    case wire::SECAGG_SERVER:
      return OnSecAgg(m);
    case wire::FINISH:
      return OnFinish(m);
    case wire::ABORT: {
      wire::Abort a;
      (void)UnpackBody(m, &a);
      const std::string reason = a.reason().substr(0, 300);
      if (m.round() != 0 && round_ && m.round() == round_->id) {
        AbandonRound(reason);
        return Status::Ok();
      }
      if (m.round() != 0) return Status::Ok();  // an older round's abort
      return Aborted("the coordinator ended the session: " + reason);
    }
    default:
      FL_LOG(kWarning) << "ignored an unexpected " << TypeName(m.type()) << " from the coordinator";
      return Status::Ok();
  }
}

Status WorkerClient::OnWelcome(const Message& m) {
  if (worker_id_ != 0) return Status::Ok();
  wire::Welcome w;
  FL_RETURN_IF_ERROR(UnpackBody(m, &w));
  if (w.worker_id() == 0 || m.envelope.session().size() != kSessionIdBytes) {
    return InvalidArgument("WELCOME without a worker id or session");
  }
  FL_ASSIGN_OR_RETURN(nlohmann::json plan_json, ParseJsonText(w.plan_json(), "training plan"));
  FL_ASSIGN_OR_RETURN(plan_, ParsePlan(plan_json, "plan"));
  session_ = m.envelope.session();
  worker_id_ = w.worker_id();
  num_train_ = static_cast<int64_t>(data_->train.size());
  const size_t n_test = data_->test.size();
  FL_ASSIGN_OR_RETURN(trainer_, Trainer::Create(plan_, std::move(*data_), options_.device,
                                                TrainingSeed(options_, plan_.training.seed)));
  data_.reset();
  FL_LOG(kInfo) << "joined as worker " << worker_id_ << ": model " << plan_.model.name << " with "
                << trainer_->Layout().dimension() << " parameters on " << trainer_->device_name() << ", "
                << num_train_ << " training and " << n_test << " test samples";
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
  const std::vector<float> params = trainer_->Parameters();
  std::vector<zmq::message_t> payload;
  payload.push_back(FloatFrame(params.data(), params.size()));
  FL_LOG(kInfo) << "sent the initial (untrained) model";
  return Send(wire::INIT_MODEL, 0, &msg, std::move(payload));
}

Status WorkerClient::OnRoundStart(const Message& m) {
  if (!trainer_) return FailedPrecondition("ROUND_START before WELCOME");
  if (round_) AbandonRound("superseded by round " + std::to_string(m.round()));
  wire::RoundStart rs;
  FL_RETURN_IF_ERROR(UnpackBody(m, &rs));
  const uint64_t d = trainer_->Layout().dimension();
  if (rs.dimension() != d) {
    return InvalidArgument("the round's model has " + std::to_string(rs.dimension()) + " parameters, ours " +
                           std::to_string(d) + " (different data shape or plan?)");
  }
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  FL_ASSIGN_OR_RETURN(std::vector<float> global, ReadFloatFrame(m.payload[0], d, "global model"));

  RoundState r;
  r.id = m.round();
  r.model_version = rs.model_version();
  r.cohort.assign(rs.cohort().begin(), rs.cohort().end());
  r.params.clip = rs.clip();
  r.params.max_total_weight = rs.max_total_weight();
  r.params.ring_bits = rs.ring_bits();
  r.params.max_cohort = rs.max_cohort();
  // Refuse rounds that would weaken this hospital's protection, whatever the
  // coordinator asks for.
  FL_RETURN_IF_ERROR(r.params.Validate().WithContext("refusing round " + std::to_string(r.id)));
  std::set<uint32_t> unique(r.cohort.begin(), r.cohort.end());
  if (r.id == 0 || unique.size() != r.cohort.size() || !unique.count(worker_id_)) {
    return InvalidArgument("refusing round " + std::to_string(r.id) + ": malformed cohort");
  }
  if (r.cohort.size() < options_.min_cohort) {
    return PermissionDenied("refusing round " + std::to_string(r.id) + ": cohort of " +
                            std::to_string(r.cohort.size()) + " is below this worker's min_cohort " +
                            std::to_string(options_.min_cohort));
  }
  if (r.cohort.size() > r.params.max_cohort) return InvalidArgument("cohort exceeds max_cohort");
  if (static_cast<uint64_t>(num_train_) > r.params.max_total_weight) {
    return OutOfRange("this hospital has " + std::to_string(num_train_) + " training samples, above the round's " +
                      "max_total_weight " + std::to_string(r.params.max_total_weight));
  }
  ++rounds_joined_;
  secagg::ClientConfig cc;
  cc.round = secagg::RoundId{session_, r.id};
  cc.worker_id = worker_id_;
  cc.identity = &identity_;
  cc.roster = &roster_;
  cc.min_cohort = options_.min_cohort;
  cc.min_survivors = options_.min_survivors;
  cc.security = options_.security;
  r.secagg = std::make_unique<secagg::SecAggClient>(cc);
  FL_ASSIGN_OR_RETURN(wire::SecAggClientMessage advertise, r.secagg->Start());
  FL_RETURN_IF_ERROR(Send(wire::SECAGG_CLIENT, r.id, &advertise));

  if (abandoned_.valid()) abandoned_.wait();
  cancel_ = false;
  Trainer* trainer = trainer_.get();
  std::atomic<bool>* cancel = &cancel_;
  // The learning-rate schedule counts completed global rounds: the model version.
  const int64_t schedule_round = static_cast<int64_t>(r.model_version);
  r.local = std::async(std::launch::async, [trainer, cancel, schedule_round, global = std::move(global)]() -> StatusOr<LocalResult> {
    LocalResult out;
    FL_RETURN_IF_ERROR(trainer->SetParameters(global));
    FL_ASSIGN_OR_RETURN(out.global_eval, trainer->Evaluate());
    FL_ASSIGN_OR_RETURN(out.train, trainer->Train(schedule_round, cancel));
    out.delta = trainer->Parameters();
    for (size_t i = 0; i < out.delta.size(); ++i) out.delta[i] -= global[i];
    return out;
  });
  FL_LOG(kInfo) << "round " << r.id << ": training from model version " << r.model_version << " with a cohort of "
                << r.cohort.size();
  round_ = std::move(r);
  return Status::Ok();
}

Status WorkerClient::OnSecAgg(const Message& m) {
  if (!round_ || m.round() != round_->id) return Status::Ok();  // a late message of an older round
  wire::SecAggServerMessage msg;
  FL_RETURN_IF_ERROR(UnpackBody(m, &msg));
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 0));
  if (msg.step_case() == wire::SecAggServerMessage::kShares && !round_->result) {
    round_->held_shares = std::move(msg);  // masked once local training is done
    return Status::Ok();
  }
  return Step(msg);
}

Status WorkerClient::Step(const wire::SecAggServerMessage& m) {
  RoundState& r = *round_;
  const bool masking = m.step_case() == wire::SecAggServerMessage::kShares;
  EncodeStats enc;
  if (masking) {
    RingVector x;
    Status s = EncodeWeighted(r.result->delta.data(), r.result->delta.size(), static_cast<uint64_t>(num_train_),
                              r.params, &x, &enc);
    sodium_memzero(r.result->delta.data(), r.result->delta.size() * sizeof(float));
    FL_RETURN_IF_ERROR(s);
    if (!audit_dir_.empty()) FL_RETURN_IF_ERROR(AuditPlaintext(x, static_cast<uint64_t>(num_train_)));
    r.secagg->SetInput(std::move(x));
  }
  StatusOr<secagg::ClientOutput> out = r.secagg->Handle(m);
  if (!out.ok()) {
    // Too few peers left is a normal end of a round; anything else means the
    // coordinator deviated from the protocol, and this worker leaves the federation.
    if (out.status().code() == StatusCode::kAborted) {
      AbandonRound(out.status().message());
      return Status::Ok();
    }
    return out.status().WithContext("refusing round " + std::to_string(r.id));
  }
  if (!out->message) return Status::Ok();
  std::vector<zmq::message_t> payload;
  if (out->masked_input) {
    const LocalResult& local = *r.result;
    wire::Metrics* metrics = out->message->mutable_masked_input()->mutable_metrics();
    AddMetric(metrics, "test_loss", local.global_eval.loss);
    AddMetric(metrics, "test_accuracy", local.global_eval.accuracy);
    AddMetric(metrics, "test_auroc", local.global_eval.auroc);
    AddMetric(metrics, "test_dice", local.global_eval.dice);
    AddMetric(metrics, "test_iou", local.global_eval.iou);
    for (const auto& [name, v] : local.global_eval.robust) AddMetric(metrics, name.c_str(), v);
    AddMetric(metrics, "train_loss", local.train.train_loss);
    AddMetric(metrics, "train_seconds", local.train.seconds);
    AddMetric(metrics, "clipped_fraction",
              static_cast<double>(enc.clipped) / static_cast<double>(std::max<size_t>(1, out->masked_input->size() - 1)));
    payload.push_back(RingFrame(*out->masked_input));
    r.sent = true;
    char line[200];
    std::snprintf(line, sizeof line,
                  "round %u: sent masked update (train loss %.4f, %.1f s); model v%" PRIu64 " on our test split: %s",
                  r.id, local.train.train_loss, local.train.seconds, r.model_version,
                  Summary(local.global_eval).c_str());
    FL_LOG(kInfo) << line;
  }
  return Send(wire::SECAGG_CLIENT, r.id, &*out->message, std::move(payload));
}

Status WorkerClient::MaybeSendMaskedInput() {
  if (!round_ || round_->result || !round_->local.valid()) return Status::Ok();
  if (round_->local.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return Status::Ok();
  StatusOr<LocalResult> result = round_->local.get();
  if (!result.ok()) return result.status().WithContext("round " + std::to_string(round_->id));
  round_->result = std::move(result).value();
  if (!round_->held_shares) return Status::Ok();
  wire::SecAggServerMessage shares = std::move(*round_->held_shares);
  round_->held_shares.reset();
  return Step(shares);
}

Status WorkerClient::AuditPlaintext(const RingVector& plaintext, uint64_t weight) {
  const std::string dir = audit_dir_ + "/worker-" + options_.name;
  FL_RETURN_IF_ERROR(MakeDirs(dir));
  char stem[64];
  std::snprintf(stem, sizeof stem, "/round-%06u", round_->id);
  FL_RETURN_IF_ERROR(AtomicWriteFile(dir + stem + ".update.u32",
                                     std::string_view(reinterpret_cast<const char*>(plaintext.data()),
                                                      plaintext.size() * sizeof(uint32_t))));
  const nlohmann::json meta = {{"round", round_->id},
                               {"worker_id", worker_id_},
                               {"model_version", round_->model_version},
                               {"weight", weight},
                               {"dimension", plaintext.size() - 1},
                               {"clip", round_->params.clip},
                               {"max_total_weight", round_->params.max_total_weight},
                               {"max_cohort", round_->params.max_cohort},
                               {"scale", round_->params.Scale()},
                               {"cohort", round_->cohort}};
  return AtomicWriteFile(dir + stem + ".json", meta.dump(2) + "\n");
}

void WorkerClient::AbandonRound(const std::string& reason) {
  if (!round_) return;
  if (round_->sent && !round_->local.valid()) {  // our part of that round is done
    round_.reset();
    return;
  }
  FL_LOG(kWarning) << "round " << round_->id << " abandoned: " << reason;
  cancel_ = true;
  if (round_->local.valid()) abandoned_ = std::move(round_->local);
  round_.reset();
}

Status WorkerClient::OnFinish(const Message& m) {
  if (!trainer_) return FailedPrecondition("FINISH before WELCOME");
  if (final_eval_.valid()) return Status::Ok();  // a repeated FINISH
  if (round_) AbandonRound("training finished");
  if (abandoned_.valid()) abandoned_.wait();
  wire::RoundStart fin;
  FL_RETURN_IF_ERROR(UnpackBody(m, &fin));
  const uint64_t d = trainer_->Layout().dimension();
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  FL_ASSIGN_OR_RETURN(final_model_, ReadFloatFrame(m.payload[0], d, "final model"));
  final_version_ = fin.model_version();
  FL_RETURN_IF_ERROR(trainer_->SetParameters(final_model_));
  // Evaluated in the background (robust accuracy can take a while): the main loop
  // keeps sending heartbeats meanwhile.
  Trainer* trainer = trainer_.get();
  final_eval_ = std::async(std::launch::async, [trainer] { return trainer->Evaluate(); });
  return Status::Ok();
}

Status WorkerClient::MaybeSendFinalReport(bool* finished) {
  if (!final_eval_.valid() || final_eval_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return Status::Ok();
  }
  StatusOr<EvalMetrics> result = final_eval_.get();
  *finished = true;
  FL_RETURN_IF_ERROR(result.status());
  const EvalMetrics& eval = *result;
  wire::Metrics metrics;
  AddMetric(&metrics, "test_loss", eval.loss);
  AddMetric(&metrics, "test_accuracy", eval.accuracy);
  AddMetric(&metrics, "test_auroc", eval.auroc);
  AddMetric(&metrics, "test_dice", eval.dice);
  AddMetric(&metrics, "test_iou", eval.iou);
  for (const auto& [name, v] : eval.robust) AddMetric(&metrics, name.c_str(), v);
  FL_RETURN_IF_ERROR(Send(wire::FINAL_REPORT, 0, &metrics));
  if (!options_.output_model.empty()) {
    Checkpoint c{trainer_->Layout(), final_model_, ModelMetadata(plan_)};
    c.metadata["model_version"] = std::to_string(final_version_);
    FL_RETURN_IF_ERROR(WriteSafetensors(options_.output_model, c));
  }
  char line[200];
  std::snprintf(line, sizeof line, "final model v%" PRIu64 " on our test split: %s, loss %.4f", final_version_,
                Summary(eval).c_str(), eval.loss);
  FL_LOG(kInfo) << line;
  return Status::Ok();
}

}  // namespace fl::worker
