#include "metrics.h"

#include <cstdio>
#include <sstream>

namespace fl::coordinator {

void CoordinatorMetrics::Histogram::Observe(double v) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (v <= kBuckets[i]) ++counts[i];
  }
  ++count;
  sum += v;
}

void CoordinatorMetrics::SetReady(bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = ready;
}

void CoordinatorMetrics::Tick() {
  const Env::Time now = env_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  last_tick_ = now;
}

bool CoordinatorMetrics::live() const {
  const Env::Time now = env_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  return last_tick_ != Env::Time{} && now - last_tick_ < Seconds(10);
}

bool CoordinatorMetrics::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_;
}

void CoordinatorMetrics::SetConnectedWorkers(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  connected_ = n;
}

void CoordinatorMetrics::SetCheckpointVersion(uint64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  checkpoint_version_ = version;
  have_checkpoint_ = true;
}

void CoordinatorMetrics::RoundStarted(uint32_t protocol_round, uint64_t training_version) {
  std::lock_guard<std::mutex> lock(mu_);
  current_round_ = protocol_round;
  training_version_ = training_version;
}

void CoordinatorMetrics::PhaseStarted(const std::string& phase) {
  std::lock_guard<std::mutex> lock(mu_);
  phase_ = phase;
}

void CoordinatorMetrics::PhaseEnded(const std::string& phase, double seconds, size_t dropped) {
  std::lock_guard<std::mutex> lock(mu_);
  phase_seconds_[phase].Observe(seconds);
  if (dropped > 0) dropouts_[phase] += dropped;
  phase_ = "idle";
}

void CoordinatorMetrics::RoundCompleted(double seconds, size_t cohort) {
  std::lock_guard<std::mutex> lock(mu_);
  ++rounds_completed_;
  cohort_ = cohort;
  round_seconds_.Observe(seconds);
  phase_ = "idle";
}

void CoordinatorMetrics::RoundAborted(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++aborted_[reason];
  phase_ = "idle";
}

void CoordinatorMetrics::Refused(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  ++refused_[reason];
}

void CoordinatorMetrics::VoteReleased(uint64_t posed, uint64_t answered) {
  std::lock_guard<std::mutex> lock(mu_);
  queries_posed_ += posed;
  queries_answered_ += answered;
}

void CoordinatorMetrics::SetPrivacySpent(double epsilon, double budget) {
  std::lock_guard<std::mutex> lock(mu_);
  vote_ = true;
  epsilon_spent_ = epsilon;
  epsilon_budget_ = budget;
}

void CoordinatorMetrics::BytesReceived(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_in_ += n;
}

void CoordinatorMetrics::BytesSent(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_out_ += n;
}

namespace {

void Header(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

}  // namespace

std::string CoordinatorMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::ostringstream o;
  o.precision(17);
  Header(o, "fl_up", "gauge", "1 while the coordinator's event loop turns.");
  o << "fl_up " << (last_tick_ != Env::Time{} ? 1 : 0) << "\n";
  Header(o, "fl_ready", "gauge", "1 when the coordinator has its state loaded and admits workers.");
  o << "fl_ready " << (ready_ ? 1 : 0) << "\n";
  Header(o, "fl_rounds_completed_total", "counter", "Training rounds that produced a new model version.");
  o << "fl_rounds_completed_total " << rounds_completed_ << "\n";
  Header(o, "fl_current_protocol_round", "gauge", "The secure-aggregation round now or last running.");
  o << "fl_current_protocol_round " << current_round_ << "\n";
  Header(o, "fl_training_model_version", "gauge", "The model version the current round trains from.");
  o << "fl_training_model_version " << training_version_ << "\n";
  Header(o, "fl_phase", "gauge", "1 for the protocol phase now running (idle between rounds).");
  o << "fl_phase{phase=\"" << phase_ << "\"} 1\n";
  Header(o, "fl_cohort_size", "gauge", "Workers whose inputs were summed in the last completed round.");
  o << "fl_cohort_size " << cohort_ << "\n";
  Header(o, "fl_connected_workers", "gauge", "Workers admitted and alive.");
  o << "fl_connected_workers " << connected_ << "\n";
  Header(o, "fl_last_checkpoint_version", "gauge", "The model version of the newest checkpoint written.");
  if (have_checkpoint_) o << "fl_last_checkpoint_version " << checkpoint_version_ << "\n";
  Header(o, "fl_dropouts_total", "counter", "Workers that dropped out of a round, by protocol phase.");
  for (const auto& [phase, n] : dropouts_) o << "fl_dropouts_total{phase=\"" << phase << "\"} " << n << "\n";
  Header(o, "fl_aborted_rounds_total", "counter", "Rounds abandoned, by reason.");
  for (const auto& [reason, n] : aborted_) o << "fl_aborted_rounds_total{reason=\"" << reason << "\"} " << n << "\n";
  Header(o, "fl_refused_connections_total", "counter", "Connections and HELLOs refused, by reason.");
  for (const auto& [reason, n] : refused_) {
    o << "fl_refused_connections_total{reason=\"" << reason << "\"} " << n << "\n";
  }
  Header(o, "fl_received_bytes_total", "counter", "Bytes of messages received.");
  o << "fl_received_bytes_total " << bytes_in_ << "\n";
  Header(o, "fl_sent_bytes_total", "counter", "Bytes of messages sent.");
  o << "fl_sent_bytes_total " << bytes_out_ << "\n";
  if (vote_) {
    Header(o, "fl_vote_queries_posed_total", "counter", "Student queries put to the teachers' private vote.");
    o << "fl_vote_queries_posed_total " << queries_posed_ << "\n";
    Header(o, "fl_vote_queries_answered_total", "counter", "Queries the private vote released a label for.");
    o << "fl_vote_queries_answered_total " << queries_answered_ << "\n";
    Header(o, "fl_privacy_epsilon_spent", "gauge", "Epsilon the private vote has spent, at its delta.");
    o << "fl_privacy_epsilon_spent " << epsilon_spent_ << "\n";
    Header(o, "fl_privacy_epsilon_budget", "gauge", "The private vote's epsilon budget.");
    o << "fl_privacy_epsilon_budget " << epsilon_budget_ << "\n";
  }
  auto histogram = [&](const std::string& name, const std::string& labels, const Histogram& h) {
    const std::string sep = labels.empty() ? "" : ",";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", kBuckets[i]);
      o << name << "_bucket{" << labels << sep << "le=\"" << le << "\"} " << h.counts[i] << "\n";
    }
    o << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << h.count << "\n";
    o << name << "_sum" << (labels.empty() ? "" : "{" + labels + "}") << " " << h.sum << "\n";
    o << name << "_count" << (labels.empty() ? "" : "{" + labels + "}") << " " << h.count << "\n";
  };
  Header(o, "fl_round_duration_seconds", "histogram", "Duration of completed rounds.");
  histogram("fl_round_duration_seconds", "", round_seconds_);
  Header(o, "fl_phase_duration_seconds", "histogram", "Duration of protocol phases.");
  for (const auto& [phase, h] : phase_seconds_) histogram("fl_phase_duration_seconds", "phase=\"" + phase + "\"", h);
  return o.str();
}

}  // namespace fl::coordinator
