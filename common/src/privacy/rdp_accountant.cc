#include "fl/privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace fl::privacy {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<double> DefaultOrders() {
  std::vector<double> orders;
  for (double a = 1.1; a < 11; a += 0.1) orders.push_back(a);
  for (double a = 11; a <= 128; a += 1) orders.push_back(a);
  for (double a = 160; a <= 10000; a *= 1.25) orders.push_back(a);
  return orders;
}

// tau of KLS21 Proposition 14 for n parties of variance v each.
double SumDeviation(double v, int64_t n) {
  double tau = 0;
  for (int64_t k = 1; k < n; ++k) {
    tau += std::exp(-2 * kPi * kPi * v * static_cast<double>(k) / static_cast<double>(k + 1));
  }
  return 10 * tau;
}

Status CheckNoise(const Sensitivity& s, const SummedDiscreteGaussian& noise, int64_t count) {
  if (!(noise.per_contributor_variance >= 0.25) || !std::isfinite(noise.per_contributor_variance)) {
    return InvalidArgument("each party's noise variance must be at least 1/4");
  }
  if (noise.contributors < 1) return InvalidArgument("the noise needs at least one contributor");
  if (!(s.l1 >= 0) || !(s.l2_squared >= 0) || s.dimension < 1 || !std::isfinite(s.l1) || !std::isfinite(s.l2_squared)) {
    return InvalidArgument("a sensitivity needs finite non-negative norms and a positive dimension");
  }
  if (count < 0) return InvalidArgument("a negative number of releases");
  return Status::Ok();
}

}  // namespace

double GaussianRdp(double alpha, double l2, double sigma) { return alpha * l2 * l2 / (2 * sigma * sigma); }

double SummedDiscreteGaussianRdp(double alpha, const Sensitivity& s, const SummedDiscreteGaussian& noise) {
  const double total = noise.total_variance();
  const double tau = SumDeviation(noise.per_contributor_variance, noise.contributors);
  const double d = static_cast<double>(s.dimension);
  const double sd = std::sqrt(total);
  const double b1 = alpha / 2 * s.l2_squared / total + tau * d;
  const double b2 = alpha / 2 * (s.l2_squared / total + 2 * s.l1 * tau / sd + tau * tau * d);
  const double b3 = alpha / 2 * std::pow(std::sqrt(s.l2_squared) / sd + tau * std::sqrt(d), 2);
  return std::min({b1, b2, b3});
}

RdpAccountant::RdpAccountant() : RdpAccountant(DefaultOrders()) {}

RdpAccountant::RdpAccountant(std::vector<double> orders) : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {}

Status RdpAccountant::AddSummedDiscreteGaussian(const Sensitivity& s, const SummedDiscreteGaussian& noise,
                                                int64_t count) {
  FL_RETURN_IF_ERROR(CheckNoise(s, noise, count));
  for (size_t i = 0; i < orders_.size(); ++i) {
    rdp_[i] += static_cast<double>(count) * SummedDiscreteGaussianRdp(orders_[i], s, noise);
  }
  return Status::Ok();
}

Status RdpAccountant::AddGaussian(double l2, double sigma, int64_t count) {
  if (!(sigma > 0) || !(l2 >= 0) || !std::isfinite(sigma) || !std::isfinite(l2) || count < 0) {
    return InvalidArgument("the Gaussian mechanism needs sigma > 0, a finite sensitivity and count >= 0");
  }
  for (size_t i = 0; i < orders_.size(); ++i) rdp_[i] += static_cast<double>(count) * GaussianRdp(orders_[i], l2, sigma);
  return Status::Ok();
}

void RdpAccountant::Add(const RdpAccountant& other) {
  for (size_t i = 0; i < rdp_.size() && i < other.rdp_.size(); ++i) rdp_[i] += other.rdp_[i];
}

namespace {

double Improved(double a, double rdp, double delta) {
  return rdp + std::log((a - 1) / a) - (std::log(delta) + std::log(a)) / (a - 1);
}

}  // namespace

double RdpAccountant::Epsilon(double delta) const {
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < orders_.size(); ++i) best = std::min(best, Improved(orders_[i], rdp_[i], delta));
  return std::max(0.0, best);
}

double RdpAccountant::EpsilonClassic(double delta) const {
  double best = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < orders_.size(); ++i) best = std::min(best, rdp_[i] + std::log(1 / delta) / (orders_[i] - 1));
  return std::max(0.0, best);
}

double RdpAccountant::BestOrder(double delta) const {
  size_t arg = 0;
  for (size_t i = 1; i < orders_.size(); ++i) {
    if (Improved(orders_[i], rdp_[i], delta) < Improved(orders_[arg], rdp_[arg], delta)) arg = i;
  }
  return orders_.empty() ? 0 : orders_[arg];
}

}  // namespace fl::privacy
