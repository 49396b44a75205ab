#include "ties_merge.h"

#include "fl/log.h"

namespace fl::coordinator {

std::vector<float> ElectSigns(const std::vector<double>& trimmed_mean) {
  std::vector<float> signs(trimmed_mean.size(), 0.0f);
  for (size_t i = 0; i < signs.size(); ++i) {
    if (trimmed_mean[i] > 0) signs[i] = 1.0f;
    if (trimmed_mean[i] < 0) signs[i] = -1.0f;
  }
  return signs;
}

StatusOr<DisjointMean> DisjointMeanOf(const std::vector<double>& agreement, double clip, uint64_t total_weight) {
  if (agreement.size() % 2 != 0 || !(clip > 0) || total_weight == 0) {
    return InvalidArgument("malformed agreement sum");
  }
  const size_t d = agreement.size() / 2;
  DisjointMean out;
  out.mean.assign(d, 0.0);
  const double w = static_cast<double>(total_weight);
  for (size_t i = 0; i < d; ++i) {
    // Weights are whole numbers: below half of one, nobody agrees (what is left is rounding).
    const double agreeing_weight = agreement[d + i] / clip * w;
    if (agreeing_weight < 0.5) continue;
    out.mean[i] = agreement[i] * w / agreeing_weight;
    ++out.agreeing;
    out.agreeing_weight += agreeing_weight / w;
  }
  if (out.agreeing > 0) out.agreeing_weight /= static_cast<double>(out.agreeing);
  return out;
}

namespace {

// The agreement round over spec's cohort, the vector round's survivors, and its disjoint
// mean; an error if any of them has left or the round does not complete.
StatusOr<DisjointMean> RunAgreementRound(RoundRunner& rounds, WorkerRegistry& registry, AuditLog& audit,
                                         uint32_t protocol_round, const RoundSpec& spec, uint64_t total_weight) {
  // The agreement sum may only hold the vector round's survivors, every one of them.
  const std::vector<uint32_t> gone = registry.Departed(spec.required_survivors);
  if (!gone.empty()) return Aborted(registry.NameOf(gone.front()) + " left after the vector round");
  FL_ASSIGN_OR_RETURN(const RoundResult round, rounds.Run(protocol_round, spec));
  if (Status s = audit.RecordSum(round.protocol_round, round.sum); !s.ok()) FL_LOG(kWarning) << s.ToString();
  FL_ASSIGN_OR_RETURN(const DecodedAverage agreement, DecodeWeightedSum(round.sum, spec.fixed_point));
  if (agreement.total_weight != total_weight) {
    return DataLoss("the agreement round's total weight differs from the vector round's");
  }
  return DisjointMeanOf(agreement.average, spec.fixed_point.clip, agreement.total_weight);
}

}  // namespace

TiesWindow MergeWithTies(RoundRunner& rounds, WorkerRegistry& registry, AuditLog& audit, uint32_t protocol_round,
                         const RoundSpec& vector_spec, const RoundResult& vector_round, const DecodedAverage& trimmed) {
  const std::vector<float> signs = ElectSigns(trimmed.average);
  size_t elected = 0;
  for (float s : signs) elected += s != 0.0f;
  const double d = static_cast<double>(std::max<size_t>(1, signs.size()));
  TiesWindow out;
  out.summary = {{"density", vector_spec.ties_density},
                 {"agreement_round", protocol_round},
                 {"elected_share", static_cast<double>(elected) / d}};
  RoundSpec spec = vector_spec;
  spec.kind = wire::RoundStart::MERGE_AGREEMENT;
  spec.cohort = vector_round.survivor_ids;
  spec.required_survivors = vector_round.survivor_ids;
  spec.min_survivors = static_cast<uint32_t>(vector_round.survivor_ids.size());
  spec.dimension = 2 * signs.size();
  spec.payload = {&signs};
  StatusOr<DisjointMean> merged =
      RunAgreementRound(rounds, registry, audit, protocol_round, spec, trimmed.total_weight);
  out.summary["complete"] = merged.ok();
  if (!merged.ok()) {
    FL_LOG(kWarning) << "TIES agreement round: " << merged.status().ToString()
                     << "; this window merges the mean of the trimmed vectors";
    out.mean = trimmed.average;
    return out;
  }
  out.summary["agreeing_weight"] = merged->agreeing_weight;
  out.mean = std::move(merged->mean);
  return out;
}

}  // namespace fl::coordinator
