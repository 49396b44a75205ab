#include "training/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fl::worker {

double BinaryAuroc(const std::vector<float>& scores, const std::vector<int64_t>& positive) {
  const size_t n = scores.size();
  // NaN scores (a model with NaN weights) have no order: the AUROC is undefined.
  for (float s : scores) {
    if (!std::isfinite(s)) return std::nan("");
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with average ranks for ties.
  double rank_sum = 0;
  size_t pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2.0 + 1.0;
    for (size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        rank_sum += avg_rank;
        ++pos;
      }
    }
    i = j;
  }
  const size_t neg = n - pos;
  if (pos == 0 || neg == 0) return std::nan("");
  return (rank_sum - static_cast<double>(pos) * (static_cast<double>(pos) + 1) / 2.0) /
         (static_cast<double>(pos) * static_cast<double>(neg));
}

double MacroAuroc(const std::vector<float>& probs, const std::vector<int64_t>& labels, int64_t num_classes) {
  const size_t n = labels.size();
  auto one_vs_rest = [&](int64_t c) {
    std::vector<float> s(n);
    std::vector<int64_t> y(n);
    for (size_t i = 0; i < n; ++i) {
      s[i] = probs[i * static_cast<size_t>(num_classes) + static_cast<size_t>(c)];
      y[i] = labels[i] == c ? 1 : 0;
    }
    return BinaryAuroc(s, y);
  };
  if (num_classes == 2) return one_vs_rest(1);
  double sum = 0;
  int count = 0;
  for (int64_t c = 0; c < num_classes; ++c) {
    const double a = one_vs_rest(c);
    if (!std::isnan(a)) {
      sum += a;
      ++count;
    }
  }
  return count ? sum / count : std::nan("");
}

SegmentationScorer::SegmentationScorer(int64_t num_classes) : num_classes_(std::max<int64_t>(2, num_classes)) {}

void SegmentationScorer::Add(const uint8_t* predicted, const uint8_t* truth, int64_t pixels, int32_t case_id) {
  Counts& c = counts_[case_id];
  const size_t k = static_cast<size_t>(num_classes_);
  if (c.intersection.empty()) c.intersection.assign(k, 0), c.predicted.assign(k, 0), c.truth.assign(k, 0);
  for (int64_t i = 0; i < pixels; ++i) {
    const size_t p = predicted[i], t = truth[i];
    if (p < k) c.predicted[p] += 1;
    if (t < k) c.truth[t] += 1;
    if (p == t && p < k) c.intersection[p] += 1;
  }
}

std::vector<double> SegmentationScorer::CaseScores(bool dice) const {
  std::vector<double> out;
  out.reserve(counts_.size());
  for (const auto& [id, c] : counts_) {
    double sum = 0;
    for (int64_t cls = 1; cls < num_classes_; ++cls) {
      const double inter = c.intersection[cls], p = c.predicted[cls], t = c.truth[cls];
      if (p + t == 0) {
        sum += 1.0;
      } else {
        sum += dice ? 2.0 * inter / (p + t) : inter / (p + t - inter);
      }
    }
    out.push_back(sum / static_cast<double>(num_classes_ - 1));
  }
  return out;
}

double SegmentationScorer::Mean(bool dice) const {
  if (counts_.empty()) return std::nan("");
  const std::vector<double> scores = CaseScores(dice);
  return std::accumulate(scores.begin(), scores.end(), 0.0) / static_cast<double>(scores.size());
}

double SegmentationScorer::MeanDice() const { return Mean(true); }
double SegmentationScorer::MeanIoU() const { return Mean(false); }
std::vector<double> SegmentationScorer::CaseDice() const { return CaseScores(true); }

}  // namespace fl::worker
