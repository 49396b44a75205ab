// The privacy budget of a private vote (Confident-GNMax, Papernot et al. 2018) whose noisy
// vote histograms come out of secure aggregation: every query's histogram is released once
// with noise sigma_1 (to select the queries the teachers agree on) and the selected ones
// once more with noise sigma_2 (the label). The coordinator sees each released histogram
// whole, so each release is accounted as the full histogram (the data-independent bound:
// no credit is taken for the teachers' agreement).
#pragma once

#include <cstdint>

#include "fl/privacy/rdp_accountant.h"
#include "fl/privacy/release_ledger.h"
#include "fl/status.h"

namespace fl::privacy {

struct VoteNoise {
  double sigma_selection = 0;  // sigma_1: standard deviation of the summed noise, first round
  double sigma_answer = 0;     // sigma_2: the same for the round that releases labels
  int64_t classes = 2;
  // Each hospital adds variance sigma^2 / guaranteed_contributors, so that the sum carries
  // at least sigma^2 whenever that many hospitals' inputs are in it (the secure-aggregation
  // survivor minimum); more contributors only add noise.
  int64_t guaranteed_contributors = 1;

  // Every field in range, and each hospital's share of the noise at least 1/4 (the
  // accountant's bound needs it).
  Status Validate() const;
  double PerHospitalVariance(double sigma) const { return sigma * sigma / static_cast<double>(guaranteed_contributors); }
};

class PateAccountant {
 public:
  // Spends at most `epsilon_budget` at `delta`.
  static StatusOr<PateAccountant> Create(const VoteNoise& noise, double epsilon_budget, double delta);

  // Records `queries` histograms released in the selection round, and `answered` in the
  // answer round, each the sum of `contributors` hospitals' noise (>= the guarantee). Only
  // the guaranteed hospitals' noise is credited: the rest is data-independent noise added
  // to that release, and crediting it could only lower epsilon (the bound for a sum of
  // discrete Gaussians is not monotone in the number of parties when shares are small).
  Status RecordSelection(int64_t queries, int64_t contributors);
  Status RecordAnswers(int64_t answered, int64_t contributors);
  // Records a release made under any settings (AddRelease), e.g. replayed from a ledger.
  Status RecordRelease(const Release& r) { return AddRelease(r, &total_); }

  // Whether `queries` more could be posed without exceeding the budget if every one of
  // them were answered (the worst case).
  bool CanPose(int64_t queries) const;
  // The most queries that fit in the remaining budget, so answered.
  int64_t MaxQueries() const;

  double Spent() const { return total_.Epsilon(delta_); }
  double budget() const { return budget_; }
  double delta() const { return delta_; }

 private:
  PateAccountant(const VoteNoise& noise, double budget, double delta) : noise_(noise), budget_(budget), delta_(delta) {}
  // The accountant after `queries` more worst-case queries, by the guarantee's noise.
  RdpAccountant After(int64_t queries) const;
  // Adds `histograms` releases with summed noise sigma from `contributors` hospitals to *into.
  Status Record(double sigma, int64_t histograms, int64_t contributors, RdpAccountant* into) const;

  VoteNoise noise_;
  double budget_, delta_;
  RdpAccountant total_;
};

}  // namespace fl::privacy
