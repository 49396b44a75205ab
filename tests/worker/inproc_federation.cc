#include "inproc_federation.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <sstream>

#include "fl/crypto.h"
#include "fl/exit_codes.h"
#include "fl/fixed_point.h"
#include "saved_state.h"
#include "transport_setup.h"

namespace fl::testing {

namespace {

// Counts the workers that have sent their first message (HELLO).
class FirstSendCounter : public Transport {
 public:
  FirstSendCounter(std::unique_ptr<Transport> inner, std::atomic<int>* sent) : inner_(std::move(inner)), sent_(sent) {}
  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    Status s = inner_->SendFrames(peer, std::move(frames));
    if (!first_done_) {
      first_done_ = true;
      ++*sent_;
    }
    return s;
  }
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override { return inner_->Receive(timeout); }
  std::string endpoint() const override { return inner_->endpoint(); }
  Status SetMaxMessageBytes(int64_t bytes) override { return inner_->SetMaxMessageBytes(bytes); }

 private:
  std::unique_ptr<Transport> inner_;
  std::atomic<int>* sent_;
  bool first_done_ = false;
};

}  // namespace

struct InProcFederation::Worker {
  HospitalSpec spec;
  std::unique_ptr<Transport> transport;
  CrashingTransport* crashing = nullptr;
  std::unique_ptr<worker::WorkerClient> client;
  std::thread thread;
  int exit_code = -1;
};

namespace {
uint64_t SeedOf(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h % 100000;
}
}  // namespace

InProcFederation::InProcFederation(std::vector<HospitalSpec> hospitals) : hospitals_(std::move(hospitals)) {
  REQUIRE(crypto::Init().ok());
  for (const HospitalSpec& h : hospitals_) {
    identities_[h.name] = secagg::Identity::Generate(h.name);
    if (h.in_roster) REQUIRE(roster_.Add(h.name, identities_[h.name].keys.public_key).ok());
  }
  options_.listen = "coordinator";
  options_.transport_security = "insecure";  // the in-process transport has no CURVE
  options_.min_workers = 3;
  options_.rounds = 3;
  options_.admission_timeout_s = 5;
  options_.phase_timeout_s = 5;
  options_.heartbeat_timeout_s = 1.0;
  options_.final_report_timeout_s = 5;
  options_.state_dir = "/state";
  options_.secagg.clip = 2.0;
  options_.secagg.max_total_weight = 1 << 20;
  options_.plan.model.name = "logreg";  // the fake trainer ignores it
  REQUIRE(disk_.WriteFile("/roster.json", roster_.ToJson().dump()).ok());
  options_.roster = "/roster.json";
}

InProcFederation::~InProcFederation() {
  for (auto& w : workers_) {
    if (w->client) w->client->RequestStop();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  if (coordinator_thread_.joinable()) coordinator_thread_.join();
}

void InProcFederation::Start() {
  // The workers start first and knock (HELLO) before the coordinator listens, so that every
  // one of them is admitted before the first round: rounds are the same in every run.
  std::atomic<int> knocked{0};
  for (const HospitalSpec& h : hospitals_) {
    auto w = std::make_unique<Worker>();
    w->spec = h;
    auto link = net_.Connect(options_.listen);
    REQUIRE(link.ok());
    w->transport = std::make_unique<FirstSendCounter>(std::move(link).value(), &knocked);
    if (h.outage_from_s >= 0) {
      const double from = h.outage_from_s, to = h.outage_to_s;
      w->transport = std::make_unique<PartitionedTransport>(std::move(w->transport), [this, from, to] {
        const double t = ToSeconds(disk_.Now() - started_);
        return started_ != Env::Time{} && t >= from && t < to;
      });
    }
    if (h.crash_round > 0) {
      auto crashing = std::make_unique<CrashingTransport>(std::move(w->transport), h.crash_step, h.crash_round,
                                                          [](const std::string&, uint32_t) {});
      w->crashing = crashing.get();
      w->transport = std::move(crashing);
    }
    worker::WorkerOptions wo;
    wo.name = h.name;
    wo.heartbeat_interval_s = 0.1;
    wo.connect_timeout_s = 10;
    wo.idle_timeout_s = h.silence_s;
    wo.once = h.once;
    data::Split split;
    split.train.labels.assign(static_cast<size_t>(h.train_samples), 0);
    split.test.labels.assign(10, 0);
    const uint64_t seed = SeedOf(h.name);
    const double loss_step = loss_step_, train_seconds = train_seconds_;
    worker::TrainerFactory factory = [seed, n = h.train_samples, loss_step, train_seconds](const Plan&, data::Split)
        -> StatusOr<std::unique_ptr<worker::Trainer>> {
      return std::unique_ptr<worker::Trainer>(new FakeTrainer(kDimension, seed, n, loss_step, train_seconds));
    };
    w->client = std::make_unique<worker::WorkerClient>(wo, std::move(split), identities_[h.name], roster_,
                                                       *w->transport, disk_, std::move(factory), "");
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* raw = w.get();
    raw->thread = std::thread([raw] {
      raw->exit_code = raw->client->Run();
      raw->transport.reset();  // a finished worker's link closes, as a process's would
    });
  }
  for (int i = 0; i < 500 && knocked < static_cast<int>(workers_.size()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(knocked == static_cast<int>(workers_.size()));
  started_ = disk_.Now();
  StartCoordinator();
}

void InProcFederation::StartCoordinator() {
  TransportOptions limits;
  limits.max_message_bytes = coordinator::ModelMessageBytes(options_.max_model_parameters);
  auto server = net_.Listen(options_.listen, limits);
  REQUIRE(server.ok());
  coordinator_link_cut_ = false;
  coordinator_transport_ = std::make_unique<PartitionedTransport>(std::move(server).value(),
                                                                  [this] { return coordinator_link_cut_.load(); });
  metrics_ = std::make_unique<coordinator::CoordinatorMetrics>(disk_);
  coordinator_ = std::make_unique<coordinator::Coordinator>(options_, *coordinator_transport_, *coordinator_env_, "",
                                                            *metrics_);
  coordinator_thread_ = std::thread([this] {
    coordinator_exit_ = coordinator_->Run();
    coordinator_transport_.reset();  // the workers see the link go down
  });
}

int InProcFederation::StopCoordinator(bool crash) {
  if (crash) coordinator_link_cut_ = true;  // dies without a word to anyone
  coordinator_->RequestStop();
  coordinator_thread_.join();
  coordinator_.reset();
  return coordinator_exit_;
}

bool InProcFederation::AwaitVersion(uint64_t version, double seconds) {
  const Env::Time deadline = disk_.Now() + Seconds(seconds);
  while (disk_.Now() < deadline) {
    auto latest = disk_.ReadFile(options_.state_dir + "/latest.json", 1 << 16);
    if (latest.ok() && nlohmann::json::parse(*latest)["model_version"].get<uint64_t>() >= version) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

int InProcFederation::Wait() {
  coordinator_thread_.join();
  for (auto& w : workers_) {
    // A crashed worker is a dead process; after a coordinator that failed, the workers
    // would wait for it until their idle timeout (workers that outlive a coordinator are
    // another story): stop them.
    if ((w->crashing && w->crashing->crashed()) || coordinator_exit_ == kExitRuntimeError) w->client->RequestStop();
  }
  for (auto& w : workers_) w->thread.join();
  return coordinator_exit_;
}

std::map<std::string, int> InProcFederation::worker_exit_codes() const {
  std::map<std::string, int> out;
  for (const auto& w : workers_) out[w->spec.name] = w->exit_code;
  return out;
}

bool InProcFederation::crashed(const std::string& name) const {
  for (const auto& w : workers_) {
    if (w->spec.name == name) return w->crashing && w->crashing->crashed();
  }
  return false;
}

std::vector<nlohmann::json> InProcFederation::MetricsLines() {
  std::vector<nlohmann::json> out;
  auto text = disk_.ReadFile(options_.state_dir + "/metrics.jsonl", 1 << 24);
  if (!text.ok()) return out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::vector<float> InProcFederation::Model(uint64_t version) {
  auto c = ReadSafetensors(disk_, options_.state_dir + "/" + coordinator::VersionFile(version));
  REQUIRE(c.ok());
  return c->values;
}

std::vector<double> InProcFederation::ExpectedStep(const std::set<std::string>& hospitals, int64_t round) const {
  std::vector<double> sum(kDimension, 0.0);
  double total = 0;
  for (const HospitalSpec& h : hospitals_) {
    if (!hospitals.count(h.name)) continue;
    total += static_cast<double>(h.train_samples);
    for (uint64_t i = 0; i < kDimension; ++i) {
      sum[i] += static_cast<double>(h.train_samples) * FakeTrainer::Delta(SeedOf(h.name), round, i);
    }
  }
  for (double& v : sum) v /= total;
  return sum;
}

void InProcFederation::CheckModelStep(const nlohmann::json& line) {
  const uint64_t version = line["round"].get<uint64_t>();
  std::set<std::string> survivors;
  for (auto it = line["hospitals"].begin(); it != line["hospitals"].end(); ++it) survivors.insert(it.key());
  REQUIRE(survivors.size() == line["cohort_size"].get<size_t>());
  uint64_t weight = 0;
  for (const HospitalSpec& h : hospitals_) {
    if (survivors.count(h.name)) weight += static_cast<uint64_t>(h.train_samples);
  }
  CHECK(line["total_weight"].get<uint64_t>() == weight);
  const std::vector<float> before = Model(version - 1), after = Model(version);
  const std::vector<double> step = ExpectedStep(survivors, static_cast<int64_t>(version - 1));
  const double bound = options_.secagg.DecodeErrorBound(static_cast<uint32_t>(survivors.size()), weight);
  for (uint64_t i = 0; i < kDimension; ++i) {
    INFO("round " << version << " coordinate " << i);
    CHECK(std::abs(static_cast<double>(after[i]) - before[i] - step[i]) <= bound + 1e-6);
  }
}

}  // namespace fl::testing
