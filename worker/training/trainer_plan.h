// The parts of the trainer that need no LibTorch: input checks, the local step schedule,
// batch sizes and metric names (trainer.cc holds the LibTorch implementation).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fl/plan.h"
#include "fl/status.h"

namespace fl::worker {

// Checks that `data` suits the plan before a model is built: a non-empty training split,
// test samples and masks shaped like the training ones, masks exactly when the plan's model
// segments (`segmentation_model`), and logit adjustment for classifiers only.
Status CheckTrainerData(const Plan& plan, bool segmentation_model, const data::Split& data);

// Checks samples given for prediction. A segmentation model takes any image (or volume)
// size with its channel count; a classifier needs the training sample shape.
Status CheckPredictionSamples(const data::Dataset& d, bool segmentation, const std::vector<int64_t>& sample_shape);

// The batches of one round of local training on `n` samples: t.steps batches, or t.epochs
// epochs when steps is 0.
struct LocalSchedule {
  int64_t batch_size = 0;  // t.batch_size, at most n
  int64_t batches_per_epoch = 0;
  int64_t total_steps = 0;
  int64_t total_samples = 0;
  int64_t passes_per_round = 0;  // passes over the data that the steps start
};
LocalSchedule ScheduleFor(const TrainingPlan& t, int64_t n);

// Seed of the generator for data order and augmentation in pass `pass` of round `round`, so
// runs are reproducible and a worker that restarts and rejoins draws what it would have
// drawn for that round, not a replay of round 0.
uint64_t PassSeed(uint64_t seed, int64_t round, int64_t passes_per_round, int64_t pass);

// Samples of a batch of `batch` that adversarial training replaces by PGD samples.
int64_t AdversarialCount(const AdversarialPlan& a, int64_t batch);

// "robust_dice_eps0.0157" (segmentation) or "robust_accuracy_eps0.0157": EvalMetrics::robust keys.
std::string RobustMetricName(bool segmentation, double eps);

// Samples per forward pass for prediction: about 4M values, 1 to 64 samples.
int64_t PredictionBatchSize(int64_t sample_numel);
// Samples per forward pass for evaluation: for segmentation up to 32 images, fewer for large
// volumes (about 4M voxels per batch); 256 for classifiers.
int64_t EvaluationBatchSize(bool segmentation, int64_t sample_numel);

// The case id of every sample of `d`: d.cases, or 0, 1, 2, ... when it has not one per sample.
std::vector<int32_t> CaseIds(const data::Dataset& d);

}  // namespace fl::worker
