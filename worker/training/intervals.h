// 95% confidence intervals for the test metrics a hospital reports, because a hospital's
// test split is often small (tens of patients) and a bare 0.9375 says nothing about how
// sure it is. CPU only, no LibTorch. Resampling uses a fixed seed, so the same predictions
// always give the same interval.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace fl::worker {

struct Interval {
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

// Wilson score interval of a proportion (accuracy): `successes` of `n` trials. NaN for n 0.
Interval WilsonInterval(double successes, double n);

// DeLong's interval for the binary AUROC of `scores` (of the positive class) against
// `positive` (0/1), clamped to [0, 1]; NaN with fewer than two samples of either class.
Interval DeLongInterval(const std::vector<float>& scores, const std::vector<int64_t>& positive);

// Interval of MacroAuroc (training/metrics.h): DeLong for two classes; for more, the
// percentile bootstrap (2000 resamples within each class) of the macro AUROC.
Interval AurocInterval(const std::vector<float>& probs, const std::vector<int64_t>& labels, int64_t num_classes);

// Percentile bootstrap (2000 resamples) of the mean of `values` (per-case Dice scores);
// NaN with fewer than two values.
Interval MeanInterval(const std::vector<double>& values);

}  // namespace fl::worker
