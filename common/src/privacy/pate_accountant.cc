#include "fl/privacy/pate_accountant.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fl::privacy {

Status VoteNoise::Validate() const {
  if (!(sigma_selection > 0) || !(sigma_answer > 0) || !std::isfinite(sigma_selection) || !std::isfinite(sigma_answer)) {
    return InvalidArgument("the vote's noise levels sigma_1 and sigma_2 must be positive");
  }
  if (classes < 2 || classes > 1000) return InvalidArgument("a vote needs 2..1000 classes");
  if (guaranteed_contributors < 1) return InvalidArgument("at least one hospital must add noise");
  if (PerHospitalVariance(std::min(sigma_selection, sigma_answer)) < 0.25) {
    return InvalidArgument("each hospital's share of the noise, sigma^2 / " + std::to_string(guaranteed_contributors) +
                           ", must be at least 1/4: raise sigma");
  }
  return Status::Ok();
}

StatusOr<PateAccountant> PateAccountant::Create(const VoteNoise& noise, double epsilon_budget, double delta) {
  FL_RETURN_IF_ERROR(noise.Validate());
  if (!(epsilon_budget > 0) || !std::isfinite(epsilon_budget)) return InvalidArgument("the epsilon budget must be positive");
  if (!(delta > 0 && delta < 1)) return InvalidArgument("delta must be in (0, 1)");
  return PateAccountant(noise, epsilon_budget, delta);
}

Status PateAccountant::Record(double sigma, int64_t histograms, int64_t contributors, RdpAccountant* into) const {
  if (contributors < noise_.guaranteed_contributors) {
    return InvalidArgument("a vote summed " + std::to_string(contributors) + " hospitals' noise, fewer than the " +
                           std::to_string(noise_.guaranteed_contributors) + " its noise level assumes");
  }
  return AddRelease({"", sigma, noise_.guaranteed_contributors, noise_.classes, histograms, contributors, 0}, into);
}

Status PateAccountant::RecordSelection(int64_t queries, int64_t contributors) {
  return Record(noise_.sigma_selection, queries, contributors, &total_);
}

Status PateAccountant::RecordAnswers(int64_t answered, int64_t contributors) {
  return Record(noise_.sigma_answer, answered, contributors, &total_);
}

RdpAccountant PateAccountant::After(int64_t queries) const {
  RdpAccountant next = total_;
  const int64_t n = noise_.guaranteed_contributors;
  // Validated noise and the guaranteed contributors: these cannot fail.
  (void)Record(noise_.sigma_selection, queries, n, &next);
  (void)Record(noise_.sigma_answer, queries, n, &next);
  return next;
}

bool PateAccountant::CanPose(int64_t queries) const { return queries >= 0 && After(queries).Epsilon(delta_) <= budget_; }

int64_t PateAccountant::MaxQueries() const {
  if (!CanPose(0)) return 0;
  int64_t lo = 0, hi = 1;
  while (CanPose(hi) && hi < (int64_t{1} << 40)) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (CanPose(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace fl::privacy
