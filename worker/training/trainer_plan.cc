// The trainer's input checks, local step schedule, batch sizes and metric names (no LibTorch).
#include "training/trainer_plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fl::worker {

Status CheckTrainerData(const Plan& plan, bool segmentation_model, const data::Split& data) {
  if (data.train.size() == 0) return InvalidArgument("the training split is empty");
  if (data.test.size() > 0 && data.test.sample_shape != data.train.sample_shape) {
    return InvalidArgument("train and test samples have different shapes");
  }
  if (segmentation_model != data.train.segmentation()) {
    return InvalidArgument(data.train.segmentation()
                               ? "the data has masks (segmentation) but model " + plan.model.name + " is a classifier; use unet"
                               : "model " + plan.model.name + " segments images but the data has no masks");
  }
  if (data.train.segmentation() && plan.training.logit_adjustment > 0) {
    return InvalidArgument("training.logit_adjustment applies to classifiers, not to segmentation models");
  }
  if (data.test.size() > 0 && data.test.mask_shape != data.train.mask_shape) {
    return InvalidArgument("train and test masks have different shapes");
  }
  return Status::Ok();
}

Status CheckPredictionSamples(const data::Dataset& d, bool segmentation, const std::vector<int64_t>& sample_shape) {
  const bool fits = segmentation ? d.sample_shape.size() == sample_shape.size() && d.sample_shape[0] == sample_shape[0]
                                 : d.sample_shape == sample_shape;
  if (!fits) {
    auto str = [](const std::vector<int64_t>& v) {
      std::string s;
      for (int64_t x : v) s += (s.empty() ? "" : "x") + std::to_string(x);
      return s;
    };
    return InvalidArgument("samples are " + str(d.sample_shape) + " but the model was built for " + str(sample_shape));
  }
  if (d.features.size() != d.size() * static_cast<size_t>(std::max<int64_t>(0, d.SampleNumel()))) {
    return InvalidArgument("the samples hold " + std::to_string(d.features.size()) + " values, not " +
                           std::to_string(d.size()) + " x " + std::to_string(d.SampleNumel()));
  }
  return Status::Ok();
}

LocalSchedule ScheduleFor(const TrainingPlan& t, int64_t n) {
  LocalSchedule s;
  s.batch_size = std::min(t.batch_size, n);
  s.batches_per_epoch = (n + s.batch_size - 1) / s.batch_size;
  s.total_steps = t.steps > 0 ? t.steps : t.epochs * s.batches_per_epoch;
  s.total_samples = t.steps > 0 ? t.steps * s.batch_size : t.epochs * n;
  s.passes_per_round = (s.total_steps + s.batches_per_epoch - 1) / s.batches_per_epoch;
  return s;
}

uint64_t PassSeed(uint64_t seed, int64_t round, int64_t passes_per_round, int64_t pass) {
  return seed + 7919 * static_cast<uint64_t>(std::max<int64_t>(round, 0) * passes_per_round + pass);
}

int64_t AdversarialCount(const AdversarialPlan& a, int64_t batch) {
  return std::min<int64_t>(batch, static_cast<int64_t>(std::llround(a.fraction * static_cast<double>(batch))));
}

std::string RobustMetricName(bool segmentation, double eps) {
  char name[64];
  std::snprintf(name, sizeof name, segmentation ? "robust_dice_eps%.4f" : "robust_accuracy_eps%.4f", eps);
  return name;
}

int64_t PredictionBatchSize(int64_t sample_numel) {
  return std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(1, sample_numel), 1, 64);
}

int64_t EvaluationBatchSize(bool segmentation, int64_t sample_numel) {
  const int64_t voxels = std::max<int64_t>(1, sample_numel);
  return segmentation ? std::clamp<int64_t>((int64_t{1} << 22) / voxels, 1, 32) : 256;
}

std::vector<int32_t> CaseIds(const data::Dataset& d) {
  std::vector<int32_t> ids = d.cases;
  if (ids.size() != d.size()) {
    ids.resize(d.size());
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  }
  return ids;
}

}  // namespace fl::worker
