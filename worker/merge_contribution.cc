#include "merge_contribution.h"

#include <algorithm>
#include <cmath>

#include "merge_scores.h"
#include "ties_trim.h"

namespace fl::worker {

namespace {
constexpr size_t kMaxLambdas = 64;
constexpr double kMaxLambda = 100;

// A round's fixed-point encoding, to compare the agreement round's with the vector round's.
std::string Encoding(const wire::RoundStart& rs) {
  return std::to_string(rs.clip()) + "/" + std::to_string(rs.max_total_weight()) + "/" +
         std::to_string(rs.ring_bits()) + "/" + std::to_string(rs.max_cohort());
}
}  // namespace

StatusOr<LocalJob> MergeContribution::VectorJob(const LocalInputs& in, const wire::RoundStart& rs,
                                                const Message& m) {
  if (!in.vector) return FailedPrecondition("refusing a merge round: this worker has no data vector");
  // A data vector enters at most one sum: two sums over cohorts that differ in one member
  // would reveal that member's vector.
  if (vector_sent_) return PermissionDenied("refusing a second merge round: our data vector was sent already");
  if (rs.dimension() != in.vector->tau.values.size() || !m.payload.empty()) {
    return InvalidArgument("the merge round's dimension " + std::to_string(rs.dimension()) +
                           " is not our data vector's " + std::to_string(in.vector->tau.values.size()));
  }
  const double density = rs.ties_density();
  if (density != 0 && !options_.allow_ties_merging) {
    return PermissionDenied("refusing a TIES merge round: this hospital does not allow TIES merging, which reveals "
                            "more than the sum of the vectors (allow_ties_merging, docs/merging.md)");
  }
  if (density != 0 && std::fabs(density - options_.ties_density) > 1e-9) {
    return PermissionDenied("refusing a TIES merge round at density " + std::to_string(density) +
                            ": this hospital allows TIES merging at density " +
                            std::to_string(options_.ties_density) + " only (ties_density)");
  }
  const uint64_t weight = rs.uniform_weight() ? 1 : static_cast<uint64_t>(in.vector->samples);
  LocalJob job{weight, density > 0 ? "sending its trimmed data vector (TIES)" : "sending its data vector"};
  job.accept = [this, density, weight, encoding = Encoding(rs)] {
    ties_density_ = density;
    vector_weight_ = weight;
    vector_encoding_ = encoding;
    vector_survivors_.reset();
    vector_names_.clear();
    return Status::Ok();
  };
  job.run = [values = &in.vector->tau.values, weight, density]() -> StatusOr<LocalResult> {
    LocalResult out;
    out.kind = wire::RoundStart::MERGE_VECTORS;
    out.delta = density > 0 ? TrimToLargest(*values, density) : *values;
    out.weight = weight;
    return out;
  };
  return job;
}

StatusOr<LocalJob> MergeContribution::AgreementJob(const LocalInputs& in, const wire::RoundStart& rs,
                                                   const Message& m) {
  if (!in.vector) return FailedPrecondition("refusing a merge round: this worker has no data vector");
  // The agreement sum is safe next to the vector round's only over the same inputs, and
  // once: sums over other cohorts, or with other signs, would split one hospital's entries.
  if (!vector_sent_ || ties_density_ == 0) {
    return PermissionDenied("refusing an agreement round: our vector was not sent in a TIES vector round");
  }
  if (agreed_ || scored_) return PermissionDenied("refusing a second agreement round: we agree once, after our vector");
  if (!vector_survivors_) {
    return PermissionDenied("refusing an agreement round: this worker did not help unmask its vector round's sum");
  }
  const std::vector<uint32_t> required(rs.required_survivors().begin(), rs.required_survivors().end());
  if (required != *vector_survivors_) {
    return PermissionDenied("refusing an agreement round over other hospitals than our vector round's survivors");
  }
  for (uint32_t id : required) {
    if (std::find(rs.cohort().begin(), rs.cohort().end(), id) == rs.cohort().end()) {
      return PermissionDenied("refusing an agreement round whose cohort lacks a survivor of our vector round");
    }
  }
  const size_t d = in.vector->tau.values.size();
  if (rs.dimension() != 2 * d) return InvalidArgument("the agreement round's dimension is not twice our vector's");
  if (rs.ties_density() != ties_density_) return InvalidArgument("the agreement round's TIES density differs");
  const uint64_t weight = rs.uniform_weight() ? 1 : static_cast<uint64_t>(in.vector->samples);
  if (weight != vector_weight_) return InvalidArgument("the agreement round weights our vector otherwise");
  if (Encoding(rs) != vector_encoding_) {
    return InvalidArgument("the agreement round's fixed-point encoding is not the vector round's");
  }
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  FL_ASSIGN_OR_RETURN(std::vector<float> signs, ReadFloatFrame(m.payload[0], d, "elected signs"));
  FL_RETURN_IF_ERROR(CheckSigns(signs));
  LocalJob job{weight, "sending its entries that agree with the elected signs (TIES)"};
  job.required_survivors = *vector_survivors_;
  job.required_names = vector_names_;
  job.accept = [this] {
    agreed_ = true;
    return Status::Ok();
  };
  // The indicator is the clip bound itself, so that it is never clipped.
  const float indicator = static_cast<float>(rs.clip());
  job.run = [values = &in.vector->tau.values, density = ties_density_, weight, indicator,
             signs = std::move(signs)]() -> StatusOr<LocalResult> {
    LocalResult out;
    out.kind = wire::RoundStart::MERGE_AGREEMENT;
    FL_ASSIGN_OR_RETURN(out.delta, AgreeingEntries(TrimToLargest(*values, density), signs, indicator));
    out.weight = weight;
    return out;
  };
  return job;
}

StatusOr<LocalJob> MergeContribution::ScoringJob(Trainer& trainer, const LocalInputs& in, const wire::RoundStart& rs,
                                                 const Message& m, const std::atomic<bool>* cancel) {
  if (!in.vector || !in.validation) return FailedPrecondition("refusing a merge round: this worker has no data vector");
  // Scores are given once, for the window our vector was merged in: more scoring rounds
  // over other cohorts could single out our validation score.
  if (!vector_sent_ || scored_) {
    return PermissionDenied("refusing a scoring round: we score once, after sending our data vector");
  }
  const uint64_t d = trainer.Layout().dimension();
  const std::vector<double> lambdas(rs.lambdas().begin(), rs.lambdas().end());
  if (lambdas.empty() || lambdas.size() > kMaxLambdas || rs.dimension() != lambdas.size()) {
    return InvalidArgument("a scoring round needs 1 to " + std::to_string(kMaxLambdas) + " lambdas, one per entry");
  }
  for (double l : lambdas) {
    if (!(l > 0 && l <= kMaxLambda)) return InvalidArgument("lambda outside (0, " + std::to_string(kMaxLambda) + "]");
  }
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 2));
  FL_ASSIGN_OR_RETURN(std::vector<float> base, ReadFloatFrame(m.payload[0], d, "base model"));
  FL_ASSIGN_OR_RETURN(std::vector<float> direction, ReadFloatFrame(m.payload[1], d, "merged direction"));
  Trainer* t = &trainer;
  const data::Dataset* validation = in.validation;
  LocalJob job{validation->size(), "scoring lambdas on its validation split"};
  job.accept = [this] {
    scored_ = true;
    return Status::Ok();
  };
  job.run = [t, validation, lambdas, cancel, base = std::move(base),
             direction = std::move(direction)]() -> StatusOr<LocalResult> {
    LocalResult out;
    out.kind = wire::RoundStart::MERGE_SCORES;
    out.weight = validation->size();
    FL_ASSIGN_OR_RETURN(out.delta, ScoreLambdas(*t, *validation, base, direction, lambdas, cancel));
    return out;
  };
  return job;
}

Status MergeContribution::VectorMasked() {
  // Recorded before it can leave: the vector is never offered again, even after a restart.
  if (on_vector_sent_) FL_RETURN_IF_ERROR(on_vector_sent_());
  vector_sent_ = true;
  return Status::Ok();
}

void MergeContribution::SumUnmasked(wire::RoundStart::Kind kind, const std::vector<uint32_t>& survivors,
                                    const std::map<uint32_t, std::string>& names) {
  if (kind != wire::RoundStart::MERGE_VECTORS || !vector_sent_ || ties_density_ == 0) return;
  vector_survivors_ = survivors;
  vector_names_ = names;
}

}  // namespace fl::worker
