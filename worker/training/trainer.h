// Local training and evaluation on one hospital's data. The header is free of LibTorch
// so that the worker's protocol code and tests compile quickly; trainer.cc holds the
// LibTorch implementation.
#pragma once

#include <atomic>
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
  double train_loss = 0;   // mean loss over the last local epoch (clean and adversarial terms)
  int64_t samples = 0;     // samples seen in this call
  double seconds = 0;
};

struct EvalMetrics {
  double loss = 0;
  double accuracy = 0;
  double auroc = 0;        // NaN if the split holds one class only
  int64_t samples = 0;
  // Accuracy under PGD-K at each radius of plan.evaluation.robust_eps, keyed by a metric
  // name such as "robust_accuracy_eps0.0157".
  std::map<std::string, double> robust;
};

class Trainer {
 public:
  virtual ~Trainer() = default;

  // Builds the plan's model (initial weights from plan.model.init_seed) for `data`.
  // `seed` drives data order and dropout.
  static StatusOr<std::unique_ptr<Trainer>> Create(const Plan& plan, data::Split data,
                                                   const DeviceOptions& device, uint64_t seed);

  virtual ModelLayout Layout() = 0;
  virtual std::vector<float> Parameters() = 0;
  virtual Status SetParameters(const std::vector<float>& values) = 0;
  // plan.training.epochs epochs over the training split with a fresh optimiser.
  // Returns Aborted soon after `*cancel` becomes true.
  virtual StatusOr<TrainStats> Train(const std::atomic<bool>* cancel = nullptr) = 0;
  virtual StatusOr<EvalMetrics> Evaluate() = 0;  // on the test split
  virtual int64_t num_train_samples() const = 0;
  virtual int64_t num_test_samples() const = 0;
  virtual std::string device_name() const = 0;
};

}  // namespace fl::worker
