#include "server.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fl/crypto.h"
#include "fl/file_util.h"
#include "fl/fixed_point.h"
#include "fl/log.h"
#include "state.h"

namespace fl::coordinator {
namespace {

constexpr int kMaxConsecutiveFailedRounds = 20;
constexpr size_t kMaxMetricEntries = 64;
constexpr size_t kMaxMetricKey = 64;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
Clock::time_point After(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

bool ValidName(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

StatusOr<nlohmann::json> MetricsToJson(const wire::Metrics& m) {
  if (static_cast<size_t>(m.values_size()) > kMaxMetricEntries) return InvalidArgument("too many metrics");
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m.values()) {
    if (k.empty() || k.size() > kMaxMetricKey || !ValidName(k)) return InvalidArgument("bad metric name");
    if (!std::isfinite(v)) return InvalidArgument("metric " + k + " is not finite");
    j[k] = v;
  }
  return j;
}

}  // namespace

Coordinator::Coordinator(CoordinatorOptions options, std::string audit_dir)
    : options_(std::move(options)), audit_dir_(std::move(audit_dir)), server_optimizer_(options_.server) {}

Status Coordinator::Start() {
  FL_RETURN_IF_ERROR(crypto::Init());
  FL_RETURN_IF_ERROR(MakeDirs(options_.state_dir));
  if (!audit_dir_.empty()) FL_RETURN_IF_ERROR(MakeDirs(audit_dir_ + "/coordinator"));
  if (!options_.roster.empty()) {
    FL_ASSIGN_OR_RETURN(secagg::Roster roster, secagg::Roster::Load(options_.roster));
    roster_ = std::move(roster);
    FL_LOG(kInfo) << "roster " << options_.roster << ": " << roster_->size() << " hospitals may join";
  }
  session_.resize(kSessionIdBytes);
  crypto::RandomBytes(session_.data(), session_.size());
  FL_ASSIGN_OR_RETURN(const bool resumed, ResumeFromStateDir());
  if (!resumed && !options_.init_checkpoint.empty()) {
    FL_ASSIGN_OR_RETURN(Checkpoint c, ReadSafetensors(options_.init_checkpoint));
    FL_RETURN_IF_ERROR(c.layout.Validate(options_.max_model_parameters).WithContext(options_.init_checkpoint));
    model_ = std::move(c);
    model_->metadata.clear();
    FL_LOG(kInfo) << "starting from " << options_.init_checkpoint << " (" << model_->values.size()
                  << " parameters)";
  }
  TransportOptions t;
  // The largest legitimate message is a model or masked vector plus its envelope.
  t.max_message_bytes = static_cast<int64_t>((options_.max_model_parameters + 1) * 4 + kMaxEnvelopeBytes + 1024);
  FL_ASSIGN_OR_RETURN(router_, RouterEndpoint::Bind(options_.listen, t));
  FL_LOG(kInfo) << "listening on " << router_->bound_endpoint() << ", session "
                << crypto::ToHex(reinterpret_cast<const uint8_t*>(session_.data()), 4) << "..., waiting for "
                << options_.min_workers << " workers";
  return Status::Ok();
}

int Coordinator::Run() {
  if (Status s = Start(); !s.ok()) {
    FL_LOG(kError) << s.ToString();
    return 1;
  }
  int failures = 0;
  // A resumed run that has reached its rounds or converged trains no further.
  const bool already_trained = resumed_ && (model_version_ >= options_.rounds || Converged());
  if (already_trained && resumed_finished_) {
    FL_LOG(kInfo) << "the run in " << options_.state_dir << " finished at model version " << model_version_
                  << "; nothing to do (raise rounds, or patience, to continue it)";
    return 0;
  }
  while (!already_trained && model_version_ < options_.rounds) {
    if (!AwaitWorkers()) return 3;
    if (!model_) {
      if (Status s = ObtainInitialModel(); !s.ok()) {
        FL_LOG(kWarning) << "initial model: " << s.ToString();
        if (++failures > kMaxConsecutiveFailedRounds) return 4;
        continue;
      }
    }
    if (RunRound()) {
      failures = 0;
      if (Converged()) {
        FL_LOG(kInfo) << "training loss converged after " << model_version_ << " rounds";
        break;
      }
    } else if (++failures > kMaxConsecutiveFailedRounds) {
      FL_LOG(kError) << "giving up after " << failures << " failed rounds in a row";
      return 4;
    }
  }
  // A resumed run that stopped before its final reports collects them now.
  if (already_trained && !AwaitWorkers()) return 3;
  FinishTraining();
  return 0;
}

bool Coordinator::AwaitWorkers() {
  const WaitResult admitted = PumpUntil(
      [&] { return AliveWorkers().size() >= options_.min_workers; }, After(options_.admission_timeout_s));
  if (admitted == WaitResult::kReady) return true;
  const std::string reason = "the federation stopped: too few hospitals (" + std::to_string(AliveWorkers().size()) +
                             " of the " + std::to_string(options_.min_workers) + " required) within " +
                             std::to_string(static_cast<int>(options_.admission_timeout_s)) + " s";
  FL_LOG(kError) << reason;
  // The connected workers are told why rather than left waiting for a round.
  for (WorkerRecord* w : AliveWorkers()) DropWorker(*w, reason, true);
  return false;
}

Coordinator::WaitResult Coordinator::PumpUntil(const std::function<bool()>& ready,
                                               Clock::time_point deadline) {
  while (true) {
    if (ready()) return WaitResult::kReady;
    const auto now = Clock::now();
    if (now >= deadline) return WaitResult::kTimeout;
    const int wait_ms = static_cast<int>(std::clamp<double>(Seconds(deadline - now) * 1000.0, 1.0, 100.0));
    if (auto in = router_->Receive(wait_ms)) Dispatch(std::move(*in));
    CheckLiveness();
  }
}

WorkerRecord* Coordinator::FindByPeer(const std::string& peer) {
  for (auto& [id, w] : workers_) {
    if (w.peer == peer) return &w;
  }
  return nullptr;
}

std::vector<WorkerRecord*> Coordinator::AliveWorkers() {
  std::vector<WorkerRecord*> out;
  for (auto& [id, w] : workers_) {
    if (w.alive) out.push_back(&w);
  }
  return out;
}

void Coordinator::Send(const WorkerRecord& w, Message m) {
  if (Status s = router_->Send(w.peer, std::move(m)); !s.ok()) {
    FL_LOG(kWarning) << "send to " << w.name << ": " << s.ToString();
  }
}

void Coordinator::DropWorker(WorkerRecord& w, const std::string& reason, bool tell_worker) {
  if (!w.alive) return;
  w.alive = false;
  FL_LOG(kWarning) << "worker " << w.id << " (" << w.name << ") dropped: " << reason;
  if (tell_worker) {
    wire::Abort a;
    a.set_reason(reason);
    Send(w, MakeMessage(wire::ABORT, session_, 0, 0, &a));
  }
  if (round_) round_->Drop(w.id);  // the round goes on without it if enough remain
  if (init_worker_ && *init_worker_ == w.id) init_worker_.reset();
}

void Coordinator::CheckLiveness() {
  const auto now = Clock::now();
  for (auto& [id, w] : workers_) {
    if (w.alive && Seconds(now - w.last_seen) > options_.heartbeat_timeout_s) {
      char reason[80];
      std::snprintf(reason, sizeof reason, "silent for more than %.1f s", options_.heartbeat_timeout_s);
      DropWorker(w, reason, true);
    }
  }
}

void Coordinator::Dispatch(Incoming in) {
  WorkerRecord* w = FindByPeer(in.peer);
  const std::string who = w ? ("worker " + std::to_string(w->id) + " (" + w->name + ")") : "an unknown peer";
  if (!in.status.ok()) {
    FL_LOG(kWarning) << "rejected a malformed message from " << who << ": " << in.status.message();
    if (w) DropWorker(*w, "sent a malformed message: " + in.status.message(), true);
    return;
  }
  const Message& m = in.message;
  if (m.type() == wire::HELLO) {
    if (w) {
      FL_LOG(kWarning) << "ignored a second HELLO from " << who;
      return;
    }
    HandleHello(in.peer, m);
    return;
  }
  if (!w || !w->alive) {
    FL_LOG(kDebug) << "ignored " << TypeName(m.type()) << " from " << who;
    return;
  }
  if (m.envelope.session() != session_ || m.envelope.sender() != w->id) {
    DropWorker(*w, "message with a wrong session or sender id", true);
    return;
  }
  w->last_seen = Clock::now();
  switch (m.type()) {
    case wire::HEARTBEAT:
      return;
    case wire::INIT_MODEL:
      return HandleInitModel(*w, m);
    case wire::SECAGG_CLIENT:
      return HandleSecAggMessage(*w, m);
    case wire::FINAL_REPORT: {
      wire::Metrics metrics;
      if (!finishing_ || !UnpackBody(m, &metrics).ok()) {
        DropWorker(*w, "unexpected or malformed FINAL_REPORT", true);
        return;
      }
      StatusOr<nlohmann::json> j = MetricsToJson(metrics);
      if (!j.ok()) return DropWorker(*w, j.status().message(), true);
      final_reports_[w->id] = std::move(j).value();
      // Its part is over: the worker disconnects now, which is not a dropout.
      w->alive = false;
      return;
    }
    case wire::ABORT: {
      wire::Abort a;
      (void)UnpackBody(m, &a);
      DropWorker(*w, "worker aborted: " + a.reason().substr(0, 200), false);
      return;
    }
    default:
      DropWorker(*w, "unexpected message type " + TypeName(m.type()), true);
  }
}

void Coordinator::HandleHello(const std::string& peer, const Message& m) {
  wire::Hello hello;
  auto refuse = [&](const std::string& reason) {
    FL_LOG(kWarning) << "refused a worker: " << reason;
    wire::Abort a;
    a.set_reason(reason);
    (void)router_->Send(peer, MakeMessage(wire::ABORT, session_, 0, 0, &a));
  };
  if (!UnpackBody(m, &hello).ok()) return refuse("malformed HELLO");
  if (hello.protocol_version() != kProtocolVersion) return refuse("unsupported protocol version");
  if (!ValidName(hello.name())) return refuse("worker names are 1-64 characters of [A-Za-z0-9._-]");
  if (roster_ && !roster_->Find(hello.name())) return refuse("the name " + hello.name() + " is not in the roster");
  if (finishing_) return refuse("training is over");
  if (AliveWorkers().size() >= options_.max_workers) return refuse("the federation is full");
  for (WorkerRecord* o : AliveWorkers()) {
    if (o->name == hello.name()) return refuse("the name " + hello.name() + " is already connected");
  }
  WorkerRecord w;
  w.id = next_worker_id_++;
  w.peer = peer;
  w.name = hello.name();
  w.last_seen = Clock::now();
  wire::Welcome welcome;
  welcome.set_worker_id(w.id);
  welcome.set_plan_json(PlanToJson(options_.plan).dump());
  Send(w, MakeMessage(wire::WELCOME, session_, 0, 0, &welcome));
  FL_LOG(kInfo) << "admitted worker " << w.id << " (" << w.name << "), " << AliveWorkers().size() + 1
                << " connected";
  workers_[w.id] = std::move(w);
}

Status Coordinator::ObtainInitialModel() {
  std::vector<WorkerRecord*> alive = AliveWorkers();
  if (alive.empty()) return Unavailable("no worker to initialise the model");
  WorkerRecord* w = alive.front();
  init_worker_ = w->id;
  Send(*w, MakeMessage(wire::INIT_REQUEST, session_, 0, 0));
  FL_LOG(kInfo) << "asked worker " << w->id << " (" << w->name << ") for the initial model";
  PumpUntil([&] { return model_.has_value() || !init_worker_; }, After(options_.phase_timeout_s));
  if (!model_) {
    if (init_worker_) {
      if (auto it = workers_.find(*init_worker_); it != workers_.end()) {
        DropWorker(it->second, "no initial model within the phase timeout", true);
      }
    }
    init_worker_.reset();
    return Unavailable("the initialising worker did not deliver a model");
  }
  return Status::Ok();
}

void Coordinator::HandleInitModel(WorkerRecord& w, const Message& m) {
  if (!init_worker_ || *init_worker_ != w.id || model_) {
    return DropWorker(w, "unrequested INIT_MODEL", true);
  }
  wire::ModelLayout layout;
  Checkpoint c;
  Status s = UnpackBody(m, &layout);
  if (s.ok()) {
    for (const auto& t : layout.tensors()) {
      c.layout.tensors.push_back({t.name(), std::vector<uint64_t>(t.shape().begin(), t.shape().end())});
    }
    s = c.layout.Validate(options_.max_model_parameters);
  }
  if (s.ok()) s = ExpectPayloadFrames(m, 1);
  if (s.ok()) {
    StatusOr<std::vector<float>> values = ReadFloatFrame(m.payload[0], c.layout.dimension(), "initial model");
    s = values.status();
    if (s.ok()) c.values = std::move(values).value();
  }
  if (!s.ok()) return DropWorker(w, "bad INIT_MODEL: " + s.message(), true);
  model_ = std::move(c);
  model_version_ = 0;
  init_worker_.reset();
  FL_LOG(kInfo) << "initial model: " << model_->layout.tensors.size() << " tensors, " << model_->values.size()
                << " parameters";
  if (Status ws = WriteCheckpoint(); !ws.ok()) FL_LOG(kError) << ws.ToString();
}

void Coordinator::HandleSecAggMessage(WorkerRecord& w, const Message& m) {
  if (!round_ || m.round() != round_id_) {
    FL_LOG(kDebug) << "ignored a late " << TypeName(m.type()) << " for round " << m.round() << " from " << w.name;
    return;
  }
  wire::SecAggClientMessage msg;
  Status s = UnpackBody(m, &msg);
  const bool masked = s.ok() && msg.step_case() == wire::SecAggClientMessage::kMaskedInput;
  if (s.ok()) s = ExpectPayloadFrames(m, masked ? 1 : 0);
  if (s.ok() && !audit_dir_.empty()) {
    const auto* field = wire::SecAggClientMessage::descriptor()->FindFieldByNumber(msg.step_case());
    AuditPayload(w, m, field ? field->name() : TypeName(m.type()));
  }
  if (s.ok() && masked) {
    StatusOr<nlohmann::json> metrics = MetricsToJson(msg.masked_input().metrics());
    StatusOr<RingVector> vec = ReadRingFrame(m.payload[0], m.payload[0].size() / sizeof(uint32_t), "masked input");
    s = metrics.ok() ? vec.status() : metrics.status();
    if (s.ok()) s = round_->Receive(w.id, msg, vec->data(), vec->size());
    if (s.ok()) round_metrics_[w.id] = std::move(metrics).value();
  } else if (s.ok()) {
    s = round_->Receive(w.id, msg);
  }
  if (!s.ok()) {
    // The worker leaves this round (the protocol treats it as dropped) and is told why.
    FL_LOG(kWarning) << "round " << round_id_ << ": rejected a message from worker " << w.id << " (" << w.name
                     << "): " << s.message();
    wire::Abort a;
    a.set_reason("rejected: " + s.message());
    Send(w, MakeMessage(wire::ABORT, session_, round_id_, 0, &a));
  }
}

void Coordinator::SendSecAgg(const std::vector<secagg::Outgoing>& out) {
  for (const secagg::Outgoing& o : out) {
    auto it = workers_.find(o.to);
    if (it == workers_.end() || !it->second.alive) continue;
    Send(it->second, MakeMessage(wire::SECAGG_SERVER, session_, round_id_, 0, &o.message));
  }
}

void Coordinator::AbandonRound(const std::string& reason) {
  FL_LOG(kWarning) << "protocol round " << round_id_ << " abandoned: " << reason
                   << "; restarting with the remaining workers";
  wire::Abort a;
  a.set_reason("round abandoned: " + reason);
  for (uint32_t id : cohort_) {
    if (workers_[id].alive) Send(workers_[id], MakeMessage(wire::ABORT, session_, round_id_, 0, &a));
  }
  round_.reset();
}

bool Coordinator::RunRound() {
  cohort_.clear();
  for (WorkerRecord* w : AliveWorkers()) cohort_.push_back(w->id);
  const uint64_t d = model_->values.size();
  round_id_ = next_round_id_++;
  secagg::ServerConfig sc;
  sc.round = secagg::RoundId{session_, round_id_};
  sc.cohort = cohort_;
  sc.vector_length = d + 1;
  sc.security = options_.security;
  sc.min_cohort = options_.min_workers;
  sc.roster = roster_ ? &*roster_ : nullptr;
  sc.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  round_ = std::make_unique<secagg::SecAggServer>(sc);
  round_metrics_.clear();
  const auto started = Clock::now();
  FL_LOG(kInfo) << "protocol round " << round_id_ << ": training model version " << model_version_ + 1 << " with "
                << cohort_.size() << " workers";

  wire::RoundStart start;
  for (uint32_t id : cohort_) start.add_cohort(id);
  start.set_dimension(d);
  start.set_model_version(model_version_);
  start.set_clip(options_.secagg.clip);
  start.set_max_total_weight(options_.secagg.max_total_weight);
  start.set_ring_bits(options_.secagg.ring_bits);
  start.set_max_cohort(options_.secagg.max_cohort);
  for (uint32_t id : cohort_) {
    Message m = MakeMessage(wire::ROUND_START, session_, round_id_, 0, &start);
    m.payload.push_back(FloatFrame(model_->values.data(), d));
    Send(workers_[id], std::move(m));
  }

  // Each phase closes when every live worker expected in it has answered, or at the
  // phase deadline with those that have; the protocol survives the missing ones.
  while (!round_->done()) {
    const std::string phase = round_->phase_name();
    if (PumpUntil([&] { return round_->ReadyToClose(); }, After(options_.phase_timeout_s)) == WaitResult::kTimeout) {
      for (uint32_t id : round_->Pending()) {
        FL_LOG(kWarning) << "worker " << id << " (" << workers_[id].name << ") did not answer in phase " << phase
                         << "; continuing without it";
        round_->Drop(id);
      }
    }
    StatusOr<std::vector<secagg::Outgoing>> out = round_->Close();
    if (!out.ok()) {
      AbandonRound(out.status().message());
      return false;
    }
    SendSecAgg(*out);
  }
  StatusOr<RingVector> sum = round_->TakeResult();
  const uint32_t survivors = static_cast<uint32_t>(round_->survivors().size());
  const secagg::RoundParams params = round_->params();
  Status s = sum.ok() ? CompleteRound(std::move(sum).value(), Seconds(Clock::now() - started)) : sum.status();
  round_.reset();
  if (!s.ok()) {
    FL_LOG(kError) << "round failed: " << s.ToString();
    return false;
  }
  FL_LOG(kDebug) << "secure aggregation: " << survivors << " inputs, k=" << params.k << ", t=" << params.t;
  return true;
}

Status Coordinator::CompleteRound(RingVector sum, double seconds) {
  if (!audit_dir_.empty()) {
    char dir[64];
    std::snprintf(dir, sizeof dir, "/coordinator/round-%06u", round_id_);
    FL_RETURN_IF_ERROR(MakeDirs(audit_dir_ + dir));
    FL_RETURN_IF_ERROR(AtomicWriteFile(audit_dir_ + dir + "/sum.u32",
                                       std::string_view(reinterpret_cast<const char*>(sum.data()), sum.size() * 4)));
  }
  FL_ASSIGN_OR_RETURN(DecodedAverage avg, DecodeWeightedSum(sum, options_.secagg));
  FL_RETURN_IF_ERROR(server_optimizer_.Step(avg.average, &model_->values));
  ++model_version_;
  FL_RETURN_IF_ERROR(WriteCheckpoint());

  nlohmann::json hospitals = nlohmann::json::object();
  double loss_sum = 0, acc_sum = 0, dice_sum = 0;
  int loss_n = 0, acc_n = 0, dice_n = 0;
  for (const auto& [id, metrics] : round_metrics_) {
    hospitals[workers_[id].name] = metrics;
    if (metrics.contains("train_loss")) { loss_sum += metrics["train_loss"].get<double>(); ++loss_n; }
    if (metrics.contains("test_accuracy")) { acc_sum += metrics["test_accuracy"].get<double>(); ++acc_n; }
    if (metrics.contains("test_dice")) { dice_sum += metrics["test_dice"].get<double>(); ++dice_n; }
  }
  const double mean_loss = loss_n ? loss_sum / loss_n : NAN;
  if (loss_n) loss_history_.push_back(mean_loss);
  const secagg::RoundParams& params = round_->params();
  nlohmann::json line = {{"round", model_version_},
                         {"protocol_round", round_id_},
                         {"cohort_size", round_->survivors().size()},
                         {"invited", cohort_.size()},
                         {"secagg", {{"n", params.n}, {"k", params.k}, {"t", params.t}, {"complete", params.complete}}},
                         {"duration_s", seconds},
                         {"total_weight", avg.total_weight},
                         {"evaluated_model_version", model_version_ - 1},
                         {"hospitals", hospitals}};
  if (loss_n) line["mean_train_loss"] = mean_loss;
  FL_RETURN_IF_ERROR(AppendMetrics(line));
  // Segmentation models report Dice; classifiers accuracy.
  const bool dice = dice_n > 0;
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "round %" PRIu64 "/%" PRIu64 " done: cohort %zu, N=%" PRIu64
                ", mean train loss %.4f, mean test %s of v%" PRIu64 " %.4f, %.2f s",
                model_version_, options_.rounds, round_->survivors().size(), avg.total_weight, mean_loss,
                dice ? "Dice" : "accuracy", model_version_ - 1,
                dice ? dice_sum / dice_n : (acc_n ? acc_sum / acc_n : NAN), seconds);
  FL_LOG(kInfo) << summary;
  return Status::Ok();
}

bool Coordinator::Converged() {
  const uint64_t p = options_.patience;
  if (p == 0 || loss_history_.size() <= p) return false;
  const double best_before = *std::min_element(loss_history_.begin(), loss_history_.end() - static_cast<long>(p));
  const double best_recent = *std::min_element(loss_history_.end() - static_cast<long>(p), loss_history_.end());
  return best_recent > best_before - options_.min_delta;
}

void Coordinator::FinishTraining() {
  finishing_ = true;
  final_reports_.clear();
  wire::RoundStart fin;
  fin.set_dimension(model_ ? model_->values.size() : 0);
  fin.set_model_version(model_version_);
  std::vector<uint32_t> expected;
  for (WorkerRecord* w : AliveWorkers()) {
    Message m = MakeMessage(wire::FINISH, session_, 0, 0, &fin);
    if (model_) m.payload.push_back(FloatFrame(model_->values.data(), model_->values.size()));
    Send(*w, std::move(m));
    expected.push_back(w->id);
  }
  FL_LOG(kInfo) << "training finished at model version " << model_version_ << "; collecting final reports";
  PumpUntil(
      [&] {
        for (uint32_t id : expected) {
          if (workers_[id].alive && !final_reports_.count(id)) return false;
        }
        return true;
      },
      After(options_.final_report_timeout_s));
  nlohmann::json hospitals = nlohmann::json::object();
  for (const auto& [id, metrics] : final_reports_) hospitals[workers_[id].name] = metrics;
  (void)AppendMetrics({{"final", true}, {"model_version", model_version_}, {"hospitals", hospitals}});
}

Status Coordinator::WriteCheckpoint() {
  Checkpoint c = *model_;
  c.metadata = ModelMetadata(options_.plan);
  c.metadata["model_version"] = std::to_string(model_version_);
  const std::string file = VersionFile(model_version_);
  FL_RETURN_IF_ERROR(WriteSafetensors(options_.state_dir + "/" + file, c));
  const nlohmann::json latest = {{"model_version", model_version_}, {"file", file}};
  FL_RETURN_IF_ERROR(AtomicWriteFile(options_.state_dir + "/latest.json", latest.dump() + "\n"));
  kept_versions_.push_back(model_version_);
  while (options_.keep_checkpoints > 0 && kept_versions_.size() > options_.keep_checkpoints) {
    std::error_code ec;
    std::filesystem::remove(options_.state_dir + "/" + VersionFile(kept_versions_.front()), ec);
    kept_versions_.erase(kept_versions_.begin());
  }
  return Status::Ok();
}

Status Coordinator::AppendMetrics(const nlohmann::json& line) {
  metrics_lines_.push_back(line.dump());
  std::string all;
  for (const auto& l : metrics_lines_) all += l + "\n";
  return AtomicWriteFile(options_.state_dir + "/metrics.jsonl", all);
}

void Coordinator::AuditPayload(const WorkerRecord& w, const Message& m, const std::string& step) {
  if (audit_dir_.empty()) return;
  char dir[64];
  std::snprintf(dir, sizeof dir, "/coordinator/round-%06u", m.round());
  const std::string base = audit_dir_ + dir;
  if (!MakeDirs(base).ok()) return;
  const std::string stem = base + "/" + step + "-w" + std::to_string(w.id);
  nlohmann::json frames = nlohmann::json::array();
  (void)AtomicWriteFile(stem + ".body", m.envelope.body());
  for (size_t i = 0; i < m.payload.size(); ++i) {
    const std::string file = stem + ".payload" + std::to_string(i) + ".bin";
    (void)AtomicWriteFile(file, std::string_view(static_cast<const char*>(m.payload[i].data()), m.payload[i].size()));
    frames.push_back({{"file", std::filesystem::path(file).lexically_relative(audit_dir_).string()},
                      {"bytes", m.payload[i].size()}});
  }
  const nlohmann::json line = {{"round", m.round()},       {"type", step},
                               {"worker_id", w.id},        {"worker", w.name},
                               {"body_bytes", m.envelope.body().size()}, {"payload", frames}};
  std::ofstream(audit_dir_ + "/coordinator/transcript.jsonl", std::ios::app) << line.dump() << "\n";
}

}  // namespace fl::coordinator
