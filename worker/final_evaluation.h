// The end of a federation for this worker: FINISH brings the final global model, which is
// evaluated on the hospital's test split in the background (robust accuracy can take a
// while; heartbeats go on), reported to the coordinator and, if configured, saved.
#pragma once

#include <future>
#include <string>
#include <vector>

#include "coordinator_link.h"
#include "fl/env.h"
#include "fl/plan.h"
#include "options.h"
#include "training/trainer.h"

namespace fl::worker {

class FinalEvaluation {
 public:
  FinalEvaluation(const WorkerOptions& options, Env& env, CoordinatorLink& link)
      : options_(options), env_(env), link_(link) {}
  ~FinalEvaluation();

  bool started() const { return started_; }
  // Loads the final model `m` into `trainer` and starts its evaluation.
  Status Start(Trainer& trainer, const Plan& plan, const Message& m);
  // Once the evaluation is done: sends the report, saves the model, sets *finished.
  Status Poll(bool* finished);

 private:
  const WorkerOptions& options_;
  Env& env_;
  CoordinatorLink& link_;
  bool started_ = false;
  Trainer* trainer_ = nullptr;
  Plan plan_;
  std::future<StatusOr<EvalMetrics>> eval_;
  std::vector<float> model_;
  uint64_t version_ = 0;
};

}  // namespace fl::worker
