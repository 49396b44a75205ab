#include "finetune.h"

#include <cmath>
#include <cstdio>

#include "data_vector.h"
#include "eval_metrics.h"
#include "fl/crypto.h"
#include "fl/env.h"
#include "fl/log.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "hospital_data.h"
#include "local_passes.h"
#include "plan_files.h"
#include "training/trainer.h"
#include "validation_split.h"

namespace fl::worker {

namespace {

// The training plan: the base model's, or --plan's when its model section is the same.
StatusOr<Plan> FineTunePlan(const Checkpoint& base, const FineTuneRequest& r) {
  FL_ASSIGN_OR_RETURN(Plan base_plan, CheckpointPlan(base, r.base));
  if (r.plan_path.empty()) return base_plan;
  FL_ASSIGN_OR_RETURN(Plan plan, CoordinatorConfigPlan(r.plan_path, r.plan_path + " plan"));
  if (PlanToJson(plan)["model"] != PlanToJson(base_plan)["model"]) {
    return InvalidArgument(r.plan_path + ": its model section differs from the base model's (" + r.base +
                           "); a data vector is taken against the base's own model");
  }
  if (plan.personalization.method != "none") {
    return InvalidArgument(r.plan_path + ": fine-tuning for a data vector trains the whole model (no personalization)");
  }
  return plan;
}

// A double written so that strtod reads back the same value.
std::string ExactDecimal(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

}  // namespace

StatusOr<nlohmann::json> FineTune(const WorkerOptions& o, const FineTuneRequest& r) {
  if (o.state_dir.empty()) return InvalidArgument("finetune keeps the data vector in the config's state_dir; set one");
  if (r.rounds < 1 || r.rounds > 100000) return InvalidArgument("--rounds must be an integer in [1, 100000]");
  Env& env = Env::Default();
  FL_ASSIGN_OR_RETURN(const std::string base_bytes, env.ReadFile(r.base, size_t{1} << 34));
  FL_ASSIGN_OR_RETURN(const Checkpoint base, DecodeSafetensors(base_bytes, r.base));
  FL_RETURN_IF_ERROR(CheckFinite(base, r.base));
  FL_ASSIGN_OR_RETURN(const Plan plan, FineTunePlan(base, r));
  FL_ASSIGN_OR_RETURN(data::Split data, LoadHospitalData(o));
  // The validation split that contribute scores lambda on is never trained on.
  FL_ASSIGN_OR_RETURN(const data::Dataset validation, HoldOutValidation(&data.train, o.validation_fraction));
  const int64_t samples = static_cast<int64_t>(data.train.size());
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t,
                      Trainer::Create(plan, std::move(data), o.device, TrainingSeed(o, plan.training.seed)));
  FL_RETURN_IF_ERROR(CheckSameLayout(t->Layout(), base.layout, r.base));
  FL_RETURN_IF_ERROR(t->SetParameters(base.values));
  FL_ASSIGN_OR_RETURN(const double loss, TrainPasses(*t, r.rounds, "fine-tuning pass"));
  FL_ASSIGN_OR_RETURN(const EvalMetrics eval, t->Evaluate());
  const std::vector<float> tuned = t->Parameters();
  Checkpoint tau{base.layout, tuned, ModelMetadata(plan)};
  double norm2 = 0;
  for (size_t i = 0; i < tau.values.size(); ++i) {
    tau.values[i] -= base.values[i];
    norm2 += static_cast<double>(tau.values[i]) * tau.values[i];
  }
  const std::string base_hash = crypto::HashHex(base_bytes);
  tau.metadata["kind"] = "data_vector";
  tau.metadata["base_blake2b"] = base_hash;
  tau.metadata["samples"] = std::to_string(samples);
  tau.metadata["vector_id"] = NewVectorId();
  tau.metadata["validation_fraction"] = ExactDecimal(o.validation_fraction);
  tau.metadata["hospital"] = o.name;
  tau.metadata["created"] = IsoTime(env.WallTime());
  FL_RETURN_IF_ERROR(env.MakeDirs(o.state_dir));
  const std::string path = DataVectorPath(o.state_dir);
  FL_RETURN_IF_ERROR(WriteSafetensors(env, path, tau));
  if (!r.output_model.empty()) {
    FL_RETURN_IF_ERROR(WriteSafetensors(env, r.output_model, Checkpoint{base.layout, tuned, ModelMetadata(plan)}));
  }
  nlohmann::json out = TestMetricsJson(eval);
  out["name"] = o.name;
  out["mode"] = "finetune";
  out["data_vector"] = path;
  out["data_vector_norm"] = std::sqrt(norm2);
  out["samples"] = samples;
  out["validation_samples"] = validation.size();
  out["base_blake2b"] = base_hash;
  out["train_loss"] = loss;
  return out;
}

}  // namespace fl::worker
