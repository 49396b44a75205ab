#include "round_metrics.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace fl::coordinator {
namespace {

// Mean of `key` over the hospitals that reported it; NaN if none did.
double MeanOf(const RoundFacts& r, const char* key) {
  double sum = 0;
  int n = 0;
  for (const auto& [name, metrics] : r.hospitals) {
    if (metrics.contains(key) && metrics[key].is_number()) {
      sum += metrics[key].get<double>();
      ++n;
    }
  }
  return n ? sum / n : NAN;
}

}  // namespace

double MeanTrainLoss(const RoundFacts& r) { return MeanOf(r, "train_loss"); }

nlohmann::json RoundRecord(const RoundFacts& r) {
  nlohmann::json hospitals = nlohmann::json::object();
  for (const auto& [name, metrics] : r.hospitals) hospitals[name] = metrics;
  nlohmann::json line = {
      {"round", r.model_version},
      {"time", r.committed_at},
      {"protocol_round", r.protocol_round},
      {"cohort_size", r.survivors},
      {"invited", r.invited},
      {"secagg", {{"n", r.params.n}, {"k", r.params.k}, {"t", r.params.t}, {"complete", r.params.complete}}},
      {"duration_s", r.seconds},
      {"total_weight", r.total_weight},
      {"evaluated_model_version", r.model_version - 1},
      {"hospitals", hospitals}};
  const double loss = MeanTrainLoss(r);
  if (std::isfinite(loss)) line["mean_train_loss"] = loss;
  return line;
}

std::string RoundSummary(const RoundFacts& r) {
  // Segmentation models report Dice; classifiers accuracy.
  const double dice = MeanOf(r, "test_dice");
  const bool is_dice = std::isfinite(dice);
  char summary[256];
  std::snprintf(summary, sizeof summary,
                "round %" PRIu64 "/%" PRIu64 " done: cohort %zu, N=%" PRIu64
                ", mean train loss %.4f, mean test %s of v%" PRIu64 " %.4f, %.2f s",
                r.model_version, r.rounds, r.survivors, r.total_weight, MeanTrainLoss(r),
                is_dice ? "Dice" : "accuracy", r.model_version - 1, is_dice ? dice : MeanOf(r, "test_accuracy"),
                r.seconds);
  return summary;
}

bool ConvergenceTracker::Converged(uint64_t patience, double min_delta) const {
  if (patience == 0 || history_.size() <= patience) return false;
  const auto split = history_.end() - static_cast<long>(patience);
  const double best_before = *std::min_element(history_.begin(), split);
  const double best_recent = *std::min_element(split, history_.end());
  return best_recent > best_before - min_delta;
}

}  // namespace fl::coordinator
