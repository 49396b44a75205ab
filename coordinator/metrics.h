// What an operator watches (GET /metrics, Prometheus text format 0.0.4): rounds completed,
// the current round and phase, cohort size, dropouts by phase, round and phase durations
// (histograms), bytes in and out, connected workers, refused connections by reason, the
// last checkpoint version, aborted rounds by reason; and whether the coordinator is alive
// (/healthz) and ready (/readyz). The event loop's thread writes, the HTTP thread reads.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "fl/env.h"

namespace fl::coordinator {

class CoordinatorMetrics {
 public:
  explicit CoordinatorMetrics(Env& env) : env_(env) {}

  void SetReady(bool ready);
  void Tick();  // the event loop is turning
  bool live() const;   // it turned within the last 10 s
  bool ready() const;

  void SetConnectedWorkers(size_t n);
  void SetCheckpointVersion(uint64_t version);
  void RoundStarted(uint32_t protocol_round, uint64_t training_version);
  void PhaseStarted(const std::string& phase);
  void PhaseEnded(const std::string& phase, double seconds, size_t dropped);
  void RoundCompleted(double seconds, size_t cohort);
  void RoundAborted(const std::string& reason);   // a reason label: too_few_workers, stopping, ...
  void Refused(const std::string& reason);        // unknown_key, handshake_failed, hello_refused
  // A private vote: queries put to the teachers and answered, and the epsilon spent so far
  // of the budget.
  void VoteReleased(uint64_t posed, uint64_t answered);
  void SetPrivacySpent(double epsilon, double budget);
  void BytesReceived(uint64_t n);
  void BytesSent(uint64_t n);

  std::string Render() const;

 private:
  static constexpr std::array<double, 11> kBuckets = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void Observe(double v);
  };

  Env& env_;
  mutable std::mutex mu_;
  bool ready_ = false;
  Env::Time last_tick_{};
  uint64_t rounds_completed_ = 0;
  uint32_t current_round_ = 0;
  uint64_t training_version_ = 0;
  std::string phase_ = "idle";
  size_t cohort_ = 0;
  size_t connected_ = 0;
  uint64_t checkpoint_version_ = 0;
  bool have_checkpoint_ = false;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  uint64_t queries_posed_ = 0, queries_answered_ = 0;
  bool vote_ = false;  // a private vote: the privacy gauges are rendered
  double epsilon_spent_ = 0, epsilon_budget_ = 0;
  std::map<std::string, uint64_t> dropouts_, aborted_, refused_;
  Histogram round_seconds_;
  std::map<std::string, Histogram> phase_seconds_;
};

}  // namespace fl::coordinator
