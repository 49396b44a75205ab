#include "fl/secagg/params.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fl::secagg {

Status SecurityParams::Validate() const {
  if (!(max_dropout >= 0 && max_dropout < 0.5)) return InvalidArgument("max_dropout must be in [0, 0.5)");
  if (!(max_corrupt >= 0 && max_corrupt < 0.5)) return InvalidArgument("max_corrupt must be in [0, 0.5)");
  if (failure_log2 < 1 || failure_log2 > 128) return InvalidArgument("failure_log2 must be in [1, 128]");
  if (security_log2 < 1 || security_log2 > 128) return InvalidArgument("security_log2 must be in [1, 128]");
  return Status::Ok();
}

double BinomialTail(uint32_t k, double p, uint32_t m) {
  if (m == 0) return 1.0;
  if (m > k) return 0.0;
  if (p <= 0) return 0.0;
  if (p >= 1) return 1.0;
  // Sum of exp(log C(k, i) + i log p + (k - i) log(1 - p)) for i >= m.
  double sum = 0;
  for (uint32_t i = m; i <= k; ++i) {
    const double lg = std::lgamma(k + 1.0) - std::lgamma(i + 1.0) - std::lgamma(k - i + 1.0) + i * std::log(p) +
                      (k - i) * std::log1p(-p);
    sum += std::exp(lg);
  }
  return std::min(1.0, sum);
}

namespace {
bool SecureEnough(uint32_t n, uint32_t k, uint32_t t, const SecurityParams& sp) {
  return n * BinomialTail(k, sp.max_corrupt, t) <= std::ldexp(1.0, -sp.security_log2);
}
bool LiveEnough(uint32_t n, uint32_t k, uint32_t t, const SecurityParams& sp) {
  // Fails when more than k - t neighbours drop.
  return n * BinomialTail(k, sp.max_dropout, k - t + 1) <= std::ldexp(1.0, -sp.failure_log2);
}
}  // namespace

StatusOr<RoundParams> ChooseParameters(uint32_t n, const SecurityParams& sp) {
  FL_RETURN_IF_ERROR(sp.Validate());
  if (n < 3) return InvalidArgument("a cohort needs at least 3 workers (with 2, each would learn the other's input)");
  for (uint32_t k = 2; k + 1 < n; k += 2) {
    uint32_t t = k / 2 + 1;
    while (t <= k && !SecureEnough(n, k, t, sp)) ++t;
    if (t <= k && LiveEnough(n, k, t, sp)) return RoundParams{n, k, t, false};
  }
  return RoundParams{n, n - 1, n / 2 + 1, true};
}

uint32_t MinimumSurvivors(const RoundParams& p, uint32_t min_survivors) {
  return std::max({p.t, min_survivors, uint32_t{3}});
}

Status CheckParameters(const RoundParams& p, uint32_t min_cohort, const SecurityParams& own) {
  const std::string where = "n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) + " t=" + std::to_string(p.t);
  if (p.n < min_cohort || p.n < 3) {
    return PermissionDenied("cohort of " + std::to_string(p.n) + " is below this worker's min_cohort " +
                            std::to_string(min_cohort));
  }
  if (p.t < 2) return PermissionDenied("threshold below 2 (" + where + ")");
  if (p.complete != (p.k + 1 >= p.n)) return PermissionDenied("inconsistent graph type (" + where + ")");
  if (p.complete) {
    if (p.k != p.n - 1) return PermissionDenied("complete graph with the wrong degree (" + where + ")");
    if (p.t <= p.n / 2 || p.t > p.n) return PermissionDenied("threshold must be a majority of the cohort (" + where + ")");
    return Status::Ok();
  }
  if (p.k < 2 || (p.k % 2 != 0 && p.n % 2 != 0)) {
    return PermissionDenied("graph degree must be even, or odd with an even cohort (" + where + ")");
  }
  if (p.t <= p.k / 2 || p.t > p.k + 1) {
    return PermissionDenied("threshold must be a majority of the share holders (" + where + ")");
  }
  if (!SecureEnough(p.n, p.k, p.t, own)) {
    return PermissionDenied("threshold too low for this worker's max_corrupt " + std::to_string(own.max_corrupt) +
                            " at 2^-" + std::to_string(own.security_log2) + " (" + where + ")");
  }
  return Status::Ok();
}

}  // namespace fl::secagg
