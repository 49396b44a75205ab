// Classification and segmentation metrics computed on the CPU (no LibTorch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace fl::worker {

// Area under the ROC curve for scores of the positive class (ties count one half).
// Returns NaN when only one class is present or a score is not finite.
double BinaryAuroc(const std::vector<float>& scores, const std::vector<int64_t>& positive);

// Macro-averaged one-vs-rest AUROC over classes present in `labels`; for two classes
// this is the binary AUROC of class 1. `probs` is row-major N x num_classes.
double MacroAuroc(const std::vector<float>& probs, const std::vector<int64_t>& labels, int64_t num_classes);

// Dice and IoU of predicted masks, per case: the pixels of all samples that share a case id
// (the slices of one volume) are pooled before the scores are computed, so 3-D data gets
// per-volume Dice. Each case scores the mean over the foreground classes 1..K-1 (for a
// binary task, the foreground class); a class absent from both truth and prediction scores
// 1. Reported values are means over cases.
class SegmentationScorer {
 public:
  explicit SegmentationScorer(int64_t num_classes);
  // `pixels` class indices of one sample's prediction and ground truth.
  void Add(const uint8_t* predicted, const uint8_t* truth, int64_t pixels, int32_t case_id);
  double MeanDice() const;  // NaN when nothing was added
  double MeanIoU() const;
  std::vector<double> CaseDice() const;  // each case's score, in case-id order
  size_t cases() const { return counts_.size(); }

 private:
  struct Counts {
    std::vector<double> intersection, predicted, truth;  // per class
  };
  std::vector<double> CaseScores(bool dice) const;
  double Mean(bool dice) const;
  int64_t num_classes_;
  std::map<int32_t, Counts> counts_;
};

}  // namespace fl::worker
