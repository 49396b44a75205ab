#include "merge_scores.h"

#include <algorithm>
#include <map>

namespace fl::worker {

double MeanCaseDice(const data::Dataset& d, const std::vector<uint8_t>& predicted) {
  const size_t pixels = static_cast<size_t>(d.MaskNumel());
  std::map<int32_t, std::pair<double, double>> by_case;  // overlap, |pred| + |truth|
  for (size_t i = 0; i < d.size(); ++i) {
    auto& [overlap, total] = by_case[d.cases.size() == d.size() ? d.cases[i] : static_cast<int32_t>(i)];
    for (size_t p = i * pixels; p < (i + 1) * pixels; ++p) {
      const bool truth = d.masks[p] != 0, pred = predicted[p] != 0;
      overlap += truth && pred && d.masks[p] == predicted[p];
      total += static_cast<double>(truth) + static_cast<double>(pred);
    }
  }
  if (by_case.empty()) return 0;
  double sum = 0;
  for (const auto& [c, v] : by_case) sum += v.second == 0 ? 1.0 : 2.0 * v.first / v.second;
  return sum / static_cast<double>(by_case.size());
}

double Accuracy(const data::Dataset& d, const std::vector<float>& probabilities) {
  if (d.size() == 0) return 0;
  const size_t k = probabilities.size() / d.size();
  size_t correct = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const float* row = probabilities.data() + i * k;
    correct += std::max_element(row, row + k) - row == d.labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(d.size());
}

StatusOr<std::vector<float>> ScoreLambdas(Trainer& trainer, const data::Dataset& validation,
                                          const std::vector<float>& base, const std::vector<float>& direction,
                                          const std::vector<double>& lambdas, const std::atomic<bool>* cancel) {
  if (validation.size() == 0) return FailedPrecondition("no validation samples to score lambda on");
  if (base.size() != direction.size()) return InvalidArgument("base and direction differ in size");
  std::vector<float> scores;
  std::vector<float> candidate(base.size());
  for (double lambda : lambdas) {
    if (cancel && *cancel) return Aborted("scoring cancelled");
    for (size_t i = 0; i < base.size(); ++i) candidate[i] = base[i] + static_cast<float>(lambda) * direction[i];
    FL_RETURN_IF_ERROR(trainer.SetParameters(candidate));
    if (trainer.segmentation()) {
      FL_ASSIGN_OR_RETURN(std::vector<uint8_t> masks, trainer.PredictMasks(validation));
      if (masks.size() != validation.masks.size()) return Internal("predicted masks of the wrong size");
      scores.push_back(static_cast<float>(MeanCaseDice(validation, masks)));
    } else {
      FL_ASSIGN_OR_RETURN(std::vector<float> p, trainer.PredictProbabilities(validation));
      if (p.size() % validation.size() != 0) return Internal("probabilities of the wrong size");
      scores.push_back(static_cast<float>(Accuracy(validation, p)));
    }
  }
  return scores;
}

}  // namespace fl::worker
