// Test support: a whole federation in one process. One coordinator and N workers, each on
// its own thread, talk over the in-process transport; the coordinator writes to an Env
// the test inspects (in memory by default), and the workers train with a deterministic
// fake trainer whose update of every round is known, so the exact model step can be
// checked. Faults are injected with decorators: a crashing transport (a worker that dies
// just before a protocol step) and a fault-injecting Env (failed writes).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coordinator.h"
#include "metrics.h"
#include "crashing_transport.h"
#include "partitioned_transport.h"
#include "fl/inproc_transport.h"
#include "fl/secagg/identity.h"
#include "mem_env.h"
#include "options.h"
#include "worker_client.h"

namespace fl::testing {

// A trainer with d parameters whose local update in round r is a fixed function of
// (hospital seed, r, coordinate): no LibTorch, no data.
class FakeTrainer : public worker::Trainer {
 public:
  FakeTrainer(uint64_t d, uint64_t seed, int64_t train_samples, double loss_step, double train_seconds = 0)
      : d_(d), seed_(seed), n_(train_samples), loss_step_(loss_step), train_seconds_(train_seconds), params_(d, 0.f) {
    for (uint64_t i = 0; i < d; ++i) params_[i] = 0.01f * static_cast<float>(i % 7);
  }
  // The update a hospital with `seed` makes in schedule round `round`, coordinate i.
  static float Delta(uint64_t seed, int64_t round, uint64_t i) {
    const uint64_t h = (seed * 1000003 + static_cast<uint64_t>(round) * 7919 + i * 104729) % 2001;
    return (static_cast<float>(h) - 1000.f) / 2000.f;  // in [-0.5, 0.5]
  }

  ModelLayout Layout() override { return ModelLayout{{{"w", {d_}}}}; }
  std::vector<float> Parameters() override { return params_; }
  Status SetParameters(const std::vector<float>& v) override {
    if (v.size() != d_) return InvalidArgument("wrong size");
    params_ = v;
    return Status::Ok();
  }
  StatusOr<worker::TrainStats> Train(int64_t round, const std::atomic<bool>* cancel) override {
    if (cancel && *cancel) return Aborted("cancelled");
    if (train_seconds_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(train_seconds_));
    for (uint64_t i = 0; i < d_; ++i) params_[i] += Delta(seed_, round, i);
    worker::TrainStats s;
    s.train_loss = 1.0 / (1.0 + loss_step_ * static_cast<double>(round));
    s.samples = n_;
    return s;
  }
  StatusOr<worker::EvalMetrics> Evaluate() override {
    worker::EvalMetrics m;
    m.loss = 0.5;
    m.accuracy = 0.75;
    m.samples = 10;
    return m;
  }
  StatusOr<std::vector<float>> PredictProbabilities(const data::Dataset&) override { return Unavailable("fake"); }
  StatusOr<std::vector<uint8_t>> PredictMasks(const data::Dataset&) override { return Unavailable("fake"); }
  bool segmentation() const override { return false; }
  int64_t num_classes() const override { return 2; }
  int64_t num_train_samples() const override { return n_; }
  int64_t num_test_samples() const override { return 10; }
  std::string device_name() const override { return "fake"; }

 private:
  uint64_t d_, seed_;
  int64_t n_;
  double loss_step_;
  double train_seconds_;
  std::vector<float> params_;
};

struct HospitalSpec {
  std::string name;
  int64_t train_samples = 100;
  std::string crash_step;   // die just before sending this step ...
  int crash_round = 0;      // ... in the N-th round joined (0: never)
  bool in_roster = true;
  bool once = true;         // end with the session (false: rejoin, as a service)
  double silence_s = 10;    // the coordinator silent this long: the session is lost
  double outage_from_s = -1, outage_to_s = -1;  // its link is cut between these times
};

class InProcFederation {
 public:
  static constexpr uint64_t kDimension = 24;

  explicit InProcFederation(std::vector<HospitalSpec> hospitals);
  ~InProcFederation();

  coordinator::CoordinatorOptions& options() { return options_; }
  MemEnv& disk() { return disk_; }
  // The coordinator's Env (the shared disk unless replaced, e.g. by a FaultEnv over it).
  void SetCoordinatorEnv(Env* env) { coordinator_env_ = env; }
  // The loss each round's fake training reports falls by this factor's schedule.
  void SetLossStep(double s) { loss_step_ = s; }
  // How long each round's local training takes.
  void SetTrainSeconds(double s) { train_seconds_ = s; }

  // The coordinator stops (SIGTERM: it tells the workers) or crashes (its link goes dead
  // first: nobody hears a word), and Wait() for it; StartCoordinator() starts a new one
  // on the same disk and the same address, as a restarted pod would.
  int StopCoordinator(bool crash);
  void StartCoordinator();
  // Waits until the committed rounds on disk reach `version` (false after `seconds`).
  bool AwaitVersion(uint64_t version, double seconds);

  // Starts the coordinator and the workers; Wait() returns the coordinator's exit code
  // once it has finished and the workers have stopped.
  void Start();
  int Wait();
  // Exit codes of the workers, by name (after Wait()).
  std::map<std::string, int> worker_exit_codes() const;
  bool crashed(const std::string& name) const;

  // What the federation left on the coordinator's disk.
  std::vector<nlohmann::json> MetricsLines();
  std::vector<float> Model(uint64_t version);
  // The weighted mean of the listed hospitals' known updates in schedule round `round`.
  std::vector<double> ExpectedStep(const std::set<std::string>& hospitals, int64_t round) const;
  // Checks the model step of round `line` against the known updates of its survivors.
  void CheckModelStep(const nlohmann::json& line);

 private:
  struct Worker;
  std::vector<HospitalSpec> hospitals_;
  coordinator::CoordinatorOptions options_;
  MemEnv disk_;
  Env* coordinator_env_ = &disk_;
  double loss_step_ = 1.0;
  double train_seconds_ = 0;
  Env::Time started_{};
  std::atomic<bool> coordinator_link_cut_{false};
  std::unique_ptr<coordinator::CoordinatorMetrics> metrics_;
  std::unique_ptr<coordinator::Coordinator> coordinator_;
  InProcNetwork net_;
  secagg::Roster roster_;
  std::map<std::string, secagg::Identity> identities_;
  std::unique_ptr<Transport> coordinator_transport_;
  std::thread coordinator_thread_;
  int coordinator_exit_ = -1;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace fl::testing
