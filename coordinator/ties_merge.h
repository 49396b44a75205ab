// TIES merging of a window's data vectors from secure sums alone (Yadav et al., NeurIPS
// 2023; docs/merging.md). Each hospital trims its vector to its largest entries; the
// vector round sums the trimmed vectors, whose signs elect each parameter's sign; the
// agreement round, over exactly the same survivors, sums each hospital's entries that
// agree with the elected sign and, per parameter, the weight of the hospitals that agree.
// Their ratio is the disjoint mean. The coordinator learns these sums, never a vector.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_log.h"
#include "fl/fixed_point.h"
#include "round_runner.h"
#include "worker_registry.h"

namespace fl::coordinator {

// Each parameter's elected sign (-1, 0 or 1): the sign of the window's weighted sum of
// trimmed vectors.
std::vector<float> ElectSigns(const std::vector<double>& trimmed_mean);

struct DisjointMean {
  std::vector<double> mean;  // per parameter: the mean of the agreeing entries, 0 where none agrees
  size_t agreeing = 0;       // parameters with at least one agreeing entry
  // Over those parameters, the mean share of the window's weight that agrees.
  double agreeing_weight = 0;
};
// From the agreement round's decoded average (2d entries: the agreeing entries' weighted
// sum over the total weight W, then clip x the agreeing weight over W).
StatusOr<DisjointMean> DisjointMeanOf(const std::vector<double>& agreement, double clip, uint64_t total_weight);

struct TiesWindow {
  std::vector<double> mean;  // the window's merged entries
  nlohmann::json summary;    // for the version's metrics line
};
// Runs the agreement round as protocol round `protocol_round` over exactly the survivors
// of `vector_round` (run as `vector_spec`, its sum `trimmed`) and returns the window's
// disjoint mean. If a survivor has left, or the agreement round does not complete, the
// vectors' sum is known already and the window falls back to the weighted mean of the
// trimmed vectors.
TiesWindow MergeWithTies(RoundRunner& rounds, WorkerRegistry& registry, AuditLog& audit, uint32_t protocol_round,
                         const RoundSpec& vector_spec, const RoundResult& vector_round, const DecodedAverage& trimmed);

}  // namespace fl::coordinator
