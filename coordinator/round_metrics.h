// What a completed round leaves in metrics.jsonl and the log, and when the federation has
// converged (the cohort's mean training loss stopped improving).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/fixed_point.h"
#include "fl/secagg/params.h"

namespace fl::coordinator {

// One secure-aggregation round that produced a sum.
struct RoundFacts {
  uint32_t protocol_round = 0;
  uint64_t model_version = 0;       // the version this round produced
  uint64_t rounds = 0;              // the configured round limit
  size_t invited = 0;
  size_t survivors = 0;
  secagg::RoundParams params;
  double seconds = 0;
  uint64_t total_weight = 0;        // N, the cohort's training samples
  std::map<std::string, nlohmann::json> hospitals;  // each survivor's reported metrics, by name
  std::string committed_at;         // ISO 8601 UTC time the round was committed
};

// The round's metrics.jsonl line; `mean_train_loss` only when some hospital reported one.
nlohmann::json RoundRecord(const RoundFacts& r);
// The cohort's mean training loss, or NaN.
double MeanTrainLoss(const RoundFacts& r);
// The log line of a completed round.
std::string RoundSummary(const RoundFacts& r);

class ConvergenceTracker {
 public:
  void Restore(std::vector<double> history) { history_ = std::move(history); }
  void Add(double mean_loss) { history_.push_back(mean_loss); }
  // True when the best loss of the last `patience` rounds is not `min_delta` below the
  // best before them (patience 0: never).
  bool Converged(uint64_t patience, double min_delta) const;

 private:
  std::vector<double> history_;
};

}  // namespace fl::coordinator
