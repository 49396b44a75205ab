// Privacy accounting in Renyi differential privacy (Mironov 2017) for noisy vote histograms:
// each release adds its RDP curve (epsilon as a function of the order alpha) to the total,
// and the total converts to (epsilon, delta)-DP. The coordinator of a private vote keeps
// one and stops answering before a configured budget would be exceeded.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/status.h"

namespace fl::privacy {

// Noise on a released vector of integer counts: the sum of `contributors` independent
// discrete Gaussians, each of variance `per_contributor_variance` (>= 1/4), so the total
// variance is their product. A single party adding all the noise is contributors = 1.
struct SummedDiscreteGaussian {
  double per_contributor_variance = 0;
  int64_t contributors = 1;
  double total_variance() const { return per_contributor_variance * static_cast<double>(contributors); }
};

// How far one person's data can move the released vector: its L1 and L2 norms and the
// vector's length. One teacher changing its vote moves two counts of a C-class histogram
// by one each: VoteChange(C) = {l1 2, l2^2 2, dimension C}.
struct Sensitivity {
  double l1 = 0;
  double l2_squared = 0;
  int64_t dimension = 1;
};
inline Sensitivity VoteChange(int64_t classes) { return {2.0, 2.0, classes}; }

// RDP at order alpha > 1 of adding Gaussian noise of standard deviation sigma to a query of
// L2 sensitivity l2: alpha l2^2 / (2 sigma^2).
double GaussianRdp(double alpha, double l2, double sigma);

// RDP at order alpha > 1 of releasing an integer vector plus summed discrete Gaussian noise
// (Kairouz, Liu, Steinke, "The Distributed Discrete Gaussian Mechanism for Federated
// Learning with Secure Aggregation", ICML 2021, Proposition 14): the Gaussian mechanism's
// alpha l2^2 / (2 V) for the total variance V, plus a term for the sum not being exactly a
// discrete Gaussian, tau = 10 sum_{k=1}^{n-1} exp(-2 pi^2 v k / (k + 1)) for the per-party
// variance v (negligible once v is above a few units).
double SummedDiscreteGaussianRdp(double alpha, const Sensitivity& s, const SummedDiscreteGaussian& noise);

class RdpAccountant {
 public:
  // Orders 1.1 .. 1e4, denser where small budgets are optimised.
  RdpAccountant();
  explicit RdpAccountant(std::vector<double> orders);

  // `count` releases of a vector of sensitivity `s` with noise `noise`.
  Status AddSummedDiscreteGaussian(const Sensitivity& s, const SummedDiscreteGaussian& noise, int64_t count = 1);
  // `count` releases of the (continuous) Gaussian mechanism.
  Status AddGaussian(double l2, double sigma, int64_t count = 1);
  void Add(const RdpAccountant& other);  // same orders

  // The smallest epsilon over the orders such that the total is (epsilon, delta)-DP, by
  // the conversion of Canonne, Kamath, Steinke 2020 (Proposition 12):
  // epsilon = rdp(a) + log((a - 1)/a) - (log delta + log a)/(a - 1).
  double Epsilon(double delta) const;
  // Mironov 2017's original conversion, rdp(a) + log(1/delta)/(a - 1): never smaller.
  double EpsilonClassic(double delta) const;
  // The order at which Epsilon(delta) is attained.
  double BestOrder(double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
};

}  // namespace fl::privacy
