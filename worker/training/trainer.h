// Local training and evaluation on one hospital's data. The header is free of LibTorch
// so that the worker's protocol code and tests compile quickly; trainer.cc holds the
// LibTorch implementation.
#pragma once

#include <atomic>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::worker {

struct DeviceOptions {
  std::string device = "auto";  // "auto" (CUDA when available), "cpu", "cuda", "cuda:N"
  int threads = 0;              // CPU threads for LibTorch (0 = LibTorch's default)
};

struct TrainStats {
  double train_loss = 0;   // mean batch loss of this call (clean, adversarial and proximal terms)
  int64_t samples = 0;     // samples seen in this call
  double seconds = 0;
};

struct EvalMetrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  double loss = 0;
  double accuracy = 0;     // classification: share of correct samples; segmentation: of pixels
  double auroc = kNaN;     // classification; NaN if the split holds one class only, or segmentation
  double dice = kNaN;      // segmentation: mean over cases (volumes) of the foreground Dice; else NaN
  double iou = kNaN;       // segmentation: likewise for IoU; else NaN
  int64_t samples = 0;
  // 95% intervals (training/intervals.h): DeLong or bootstrap for the AUROC, bootstrap over
  // cases for the Dice; the accuracy's (Wilson) follows from accuracy and samples.
  double auroc_low = kNaN, auroc_high = kNaN;
  double dice_low = kNaN, dice_high = kNaN;
  // Accuracy (classification) or Dice (segmentation) under PGD-K at each radius of
  // plan.evaluation.robust_eps, keyed "robust_accuracy_eps0.0157" or "robust_dice_eps0.0157".
  std::map<std::string, double> robust;
};

// One local training pass that departs from the plan, for the personal-model methods.
// Per-tensor vectors follow Layout() order.
struct LocalPass {
  std::vector<bool> frozen;   // true: the tensor is not updated; empty = every tensor trains
  int64_t epochs = 0;         // > 0: this many epochs instead of the plan's epochs or steps
  std::vector<float> anchor;  // non-empty: a proximal term anchor_mu/2 |w - anchor|^2 pulls the
  double anchor_mu = 0;       // parameters toward it (instead of the plan's FedProx anchor)
};

// Which tensors (Layout() order) are normalisation-layer parameters and which the output
// head's; both empty when the trainer does not know.
struct TensorRoles {
  std::vector<bool> normalization;
  std::vector<bool> head;
  std::vector<bool> adaptation;  // decoupled prediction's per-centre adaptation network
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // Builds the plan's model (initial weights from plan.model.init_seed) for `data`.
  // `seed` drives data order, augmentation and dropout. A segmentation model (unet) needs
  // segmentation data (masks) and a classifier needs labelled samples.
  static StatusOr<std::unique_ptr<Trainer>> Create(const Plan& plan, data::Split data,
                                                   const DeviceOptions& device, uint64_t seed);

  virtual ModelLayout Layout() = 0;
  virtual std::vector<float> Parameters() = 0;
  virtual Status SetParameters(const std::vector<float>& values) = 0;
  // Local training for federation round `round` (0-based; it sets the learning rate under
  // the plan's schedule): plan.training.steps batches, or plan.training.epochs epochs when
  // steps is 0, with a fresh optimiser. Returns Aborted soon after `*cancel` becomes true.
  virtual StatusOr<TrainStats> Train(int64_t round, const std::atomic<bool>* cancel = nullptr) = 0;
  // Local training with the departures `pass` names (its learning rate is round `round`'s).
  virtual StatusOr<TrainStats> TrainPass(int64_t round, const LocalPass& pass, const std::atomic<bool>* cancel) {
    (void)round, (void)pass, (void)cancel;
    return FailedPrecondition("this trainer trains by the plan only");
  }
  virtual TensorRoles Roles() { return {}; }
  // Decoupled prediction: whether Evaluate and Predict* use the local prediction (the
  // default) or the generic one; other models have one prediction and ignore it.
  virtual void SetLocalPrediction(bool local) { (void)local; }
  virtual StatusOr<EvalMetrics> Evaluate() = 0;  // on the test split
  // The federation's final model (set with SetParameters; `model_version` rounds made it)
  // as this hospital will use it, evaluated on the test split: the model itself, or its
  // personal version (fine-tuned with personalization "finetune", at the learning rate of
  // round `model_version`).
  virtual StatusOr<EvalMetrics> EvaluateFinalModel(int64_t model_version) {
    (void)model_version;
    return Evaluate();
  }
  // Inference on new samples shaped like the training data: class probabilities, row-major
  // N x K for a classifier and N x K x H x W (N x K x D x H x W for
  // volumes) per pixel for a segmentation model; and
  // a segmentation model's predicted class masks (N x H x W).
  virtual StatusOr<std::vector<float>> PredictProbabilities(const data::Dataset& d) = 0;
  virtual StatusOr<std::vector<uint8_t>> PredictMasks(const data::Dataset& d) = 0;
  virtual bool segmentation() const = 0;
  virtual int64_t num_classes() const = 0;
  virtual int64_t num_train_samples() const = 0;
  virtual int64_t num_test_samples() const = 0;
  virtual std::string device_name() const = 0;
};

}  // namespace fl::worker
