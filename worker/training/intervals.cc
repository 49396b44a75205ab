#include "training/intervals.h"

#include <algorithm>
#include <cmath>

#include "data/rng.h"
#include "training/metrics.h"

namespace fl::worker {
namespace {

constexpr double kZ = 1.959963984540054;  // the normal 97.5% quantile
constexpr int kResamples = 2000;
constexpr uint64_t kSeed = 0x1d5eed;  // fixed: the same predictions, the same interval

Interval Percentiles(std::vector<double> stats) {
  stats.erase(std::remove_if(stats.begin(), stats.end(), [](double v) { return std::isnan(v); }), stats.end());
  if (stats.size() < 2) return {};
  std::sort(stats.begin(), stats.end());
  auto at = [&](double q) { return stats[static_cast<size_t>(std::floor(q * static_cast<double>(stats.size() - 1)))]; };
  return {at(0.025), at(0.975)};
}

}  // namespace

Interval WilsonInterval(double successes, double n) {
  if (!(n > 0)) return {};
  const double p = std::clamp(successes / n, 0.0, 1.0), z2 = kZ * kZ;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = kZ * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval DeLongInterval(const std::vector<float>& scores, const std::vector<int64_t>& positive) {
  std::vector<float> pos, neg;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) return {};
    (positive[i] ? pos : neg).push_back(scores[i]);
  }
  const size_t m = pos.size(), n = neg.size();
  if (m < 2 || n < 2) return {};
  // Structural components: V10[i] = P(score of positive i > a random negative), V01[j] =
  // P(a random positive > score of negative j), ties counting one half.
  std::vector<float> sorted_neg = neg, sorted_pos = pos;
  std::sort(sorted_neg.begin(), sorted_neg.end());
  std::sort(sorted_pos.begin(), sorted_pos.end());
  auto below_and_equal = [](const std::vector<float>& sorted, float x) {
    const auto lo = std::lower_bound(sorted.begin(), sorted.end(), x);
    const auto hi = std::upper_bound(sorted.begin(), sorted.end(), x);
    return std::pair<double, double>(static_cast<double>(lo - sorted.begin()), static_cast<double>(hi - lo));
  };
  std::vector<double> v10(m), v01(n);
  double auc = 0;
  for (size_t i = 0; i < m; ++i) {
    const auto [below, equal] = below_and_equal(sorted_neg, pos[i]);
    v10[i] = (below + 0.5 * equal) / static_cast<double>(n);
    auc += v10[i];
  }
  auc /= static_cast<double>(m);
  for (size_t j = 0; j < n; ++j) {
    const auto [below, equal] = below_and_equal(sorted_pos, neg[j]);
    v01[j] = (static_cast<double>(m) - below - equal + 0.5 * equal) / static_cast<double>(m);
  }
  auto variance = [](const std::vector<double>& v, double mean) {
    double s = 0;
    for (double x : v) s += (x - mean) * (x - mean);
    return s / static_cast<double>(v.size() - 1);
  };
  const double var = variance(v10, auc) / static_cast<double>(m) + variance(v01, auc) / static_cast<double>(n);
  const double half = kZ * std::sqrt(std::max(0.0, var));
  return {std::max(0.0, auc - half), std::min(1.0, auc + half)};
}

Interval AurocInterval(const std::vector<float>& probs, const std::vector<int64_t>& labels, int64_t num_classes) {
  if (num_classes == 2) {
    std::vector<float> s(labels.size());
    std::vector<int64_t> y(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
      s[i] = probs[2 * i + 1];
      y[i] = labels[i] == 1 ? 1 : 0;
    }
    return DeLongInterval(s, y);
  }
  if (std::isnan(MacroAuroc(probs, labels, num_classes))) return {};
  // Resample within each class, so that every resample keeps the classes' sizes.
  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) by_class[static_cast<size_t>(labels[i])].push_back(i);
  data::SplitMix64 rng(kSeed);
  const size_t k = static_cast<size_t>(num_classes);
  std::vector<double> stats;
  stats.reserve(kResamples);
  std::vector<float> p;
  std::vector<int64_t> y;
  for (int r = 0; r < kResamples; ++r) {
    p.clear();
    y.clear();
    for (size_t c = 0; c < k; ++c) {
      for (size_t draw = 0; draw < by_class[c].size(); ++draw) {
        const size_t i = by_class[c][rng.Below(by_class[c].size())];
        p.insert(p.end(), probs.begin() + static_cast<std::ptrdiff_t>(i * k),
                 probs.begin() + static_cast<std::ptrdiff_t>((i + 1) * k));
        y.push_back(labels[i]);
      }
    }
    stats.push_back(MacroAuroc(p, y, num_classes));
  }
  return Percentiles(std::move(stats));
}

Interval MeanInterval(const std::vector<double>& values) {
  const size_t n = values.size();
  if (n < 2) return {};
  data::SplitMix64 rng(kSeed);
  std::vector<double> stats(kResamples);
  for (double& s : stats) {
    double sum = 0;
    for (size_t d = 0; d < n; ++d) sum += values[rng.Below(n)];
    s = sum / static_cast<double>(n);
  }
  return Percentiles(std::move(stats));
}

}  // namespace fl::worker
