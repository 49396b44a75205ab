#include "final_evaluation.h"

#include <cinttypes>
#include <cstdio>

#include "eval_metrics.h"
#include "fl/log.h"
#include "fl/safetensors.h"
#include "training/personalized_trainer.h"

namespace fl::worker {

FinalEvaluation::~FinalEvaluation() {
  if (eval_.valid()) eval_.wait();
}

Status FinalEvaluation::Start(Trainer& trainer, const Plan& plan, const Message& m) {
  wire::RoundStart fin;
  FL_RETURN_IF_ERROR(UnpackBody(m, &fin));
  const uint64_t d = trainer.Layout().dimension();
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  FL_ASSIGN_OR_RETURN(model_, ReadFloatFrame(m.payload[0], d, "final model"));
  version_ = fin.model_version();
  FL_RETURN_IF_ERROR(trainer.SetParameters(model_));
  trainer_ = &trainer;
  plan_ = plan;
  started_ = true;
  Trainer* t = &trainer;
  const int64_t version = static_cast<int64_t>(version_);
  eval_ = std::async(std::launch::async, [t, version] { return t->EvaluateFinalModel(version); });
  return Status::Ok();
}

Status FinalEvaluation::Poll(bool* finished) {
  if (!eval_.valid() || eval_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return Status::Ok();
  StatusOr<EvalMetrics> result = eval_.get();
  *finished = true;
  FL_RETURN_IF_ERROR(result.status());
  const EvalMetrics& eval = *result;
  const wire::Metrics metrics = MetricsToWire(TestMetrics(eval));
  FL_RETURN_IF_ERROR(link_.Send(wire::FINAL_REPORT, 0, &metrics));
  if (!options_.output_model.empty()) {
    // The model this hospital uses: the global one, or its personal model (global and
    // personal tensors), which the trainer has just written to the state_dir.
    const std::string personal = PersonalModelPath(options_.state_dir);
    Checkpoint c{trainer_->Layout(), model_, ModelMetadata(plan_)};
    if (plan_.personalization.method != "none" && !options_.state_dir.empty()) {
      FL_ASSIGN_OR_RETURN(c, ReadSafetensors(env_, personal));
    } else if (plan_.personalization.method != "none") {
      FL_LOG(kWarning) << "output_model holds the global model: keeping this hospital's personal model needs a state_dir";
    }
    c.metadata["model_version"] = std::to_string(version_);
    FL_RETURN_IF_ERROR(WriteSafetensors(env_, options_.output_model, c));
  }
  char line[200];
  std::snprintf(line, sizeof line, "final model v%" PRIu64 " on our test split: %s, loss %.4f", version_,
                TestSummary(eval).c_str(), eval.loss);
  FL_LOG(kInfo) << line;
  return Status::Ok();
}

}  // namespace fl::worker
