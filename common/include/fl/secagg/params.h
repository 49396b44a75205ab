// Choice and checking of the SecAgg+ graph degree k and Shamir threshold t.
//
// For a cohort of n workers, a tolerated dropout rate delta and a tolerated fraction
// gamma of corrupt workers colluding with the coordinator, the coordinator picks the
// smallest even k (and t) such that, over a random k-regular graph,
//   security:    n * P[Binomial(k, gamma) >= t] <= 2^-security_log2   (no worker's
//                neighbourhood holds t corrupt workers, so no secret can be rebuilt by
//                the adversary),
//   correctness: n * P[Binomial(k, delta) > k - t] <= 2^-failure_log2  (every worker
//                keeps at least t live neighbours, so every needed secret can be rebuilt),
//   and t > k / 2 (a majority of the k + 1 holders of a worker's shares: its neighbours
//   and itself, so the consistency check cannot be split in two).
// If no k < n - 1 satisfies these, the graph is complete with t = floor(n / 2) + 1.
// docs/protocol.md explains the choice and gives the resulting values.
#pragma once

#include <cstdint>

#include "fl/status.h"

namespace fl::secagg {

struct SecurityParams {
  double max_dropout = 0.2;   // delta: fraction of a cohort that may drop out in a round
  double max_corrupt = 0.1;   // gamma: fraction of workers that may collude with the coordinator
  int failure_log2 = 20;      // round failure probability <= 2^-failure_log2
  int security_log2 = 40;     // statistical security 2^-security_log2
  Status Validate() const;
};

struct RoundParams {
  uint32_t n = 0;       // cohort size that advertised keys (U1)
  uint32_t k = 0;       // neighbours per worker (n - 1 when complete)
  uint32_t t = 0;       // Shamir threshold
  bool complete = true;
};

// P[Binomial(k, p) >= m].
double BinomialTail(uint32_t k, double p, uint32_t m);

StatusOr<RoundParams> ChooseParameters(uint32_t n, const SecurityParams& sp);

// The fewest workers whose inputs may ever be summed and published: the threshold t, the
// configured minimum (`min_survivors`), and never fewer than 3 (with two, each would learn
// the other's input from the sum). Both sides enforce it at every step: the coordinator aborts a round
// whose key-sharing set or survivor set falls below it, and a worker refuses to sign or
// unmask such a survivor set.
uint32_t MinimumSurvivors(const RoundParams& p, uint32_t min_survivors);

// A worker's check of the parameters the coordinator announced, against its own bounds:
// fails (PermissionDenied) if the round would weaken this worker's protection.
Status CheckParameters(const RoundParams& p, uint32_t min_cohort, const SecurityParams& own);

}  // namespace fl::secagg
