#include "student.h"

#include "eval_metrics.h"
#include "fl/config_reader.h"
#include "fl/env.h"
#include "fl/log.h"
#include "fl/safetensors.h"
#include "hospital_data.h"
#include "local_passes.h"
#include "plan_files.h"
#include "student_queries.h"
#include "training/trainer.h"

namespace fl::worker {

namespace {
constexpr size_t kMaxLabelsFileBytes = size_t{1} << 30;
}  // namespace

StatusOr<nlohmann::json> TrainStudent(const WorkerOptions& o, const StudentRequest& r) {
  if (r.labels.empty() && o.state_dir.empty()) return InvalidArgument("student needs --labels or the config's state_dir");
  if (r.rounds < 1 || r.rounds > 100000) return InvalidArgument("--rounds must be an integer in [1, 100000]");
  const std::string path = r.labels.empty() ? StudentLabelsPath(o.state_dir) : r.labels;
  FL_ASSIGN_OR_RETURN(const Plan plan, CoordinatorConfigPlan(r.plan_path, r.plan_path + " plan"));
  FL_ASSIGN_OR_RETURN(const std::string text, Env::Default().ReadFile(path, kMaxLabelsFileBytes));
  FL_ASSIGN_OR_RETURN(const nlohmann::json labels, ParseJsonText(text, path));
  FL_ASSIGN_OR_RETURN(data::Split data, LoadHospitalData(o));
  std::vector<size_t> rows;
  std::vector<int64_t> given;
  try {
    if (labels.at("queries").get<uint64_t>() != data.train.size() ||
        labels.at("query_pool_blake2b").get<std::string>() != QueryPoolHash(data.train)) {
      return FailedPrecondition(path + " labels other samples than this hospital's training split as it loads now");
    }
    for (const nlohmann::json& a : labels.at("answered")) {
      const uint64_t q = a.at(0).get<uint64_t>();
      const int64_t l = a.at(1).get<int64_t>();
      if (q >= data.train.size() || (!rows.empty() && q <= rows.back()) || l < 0 || l >= data.train.num_classes) {
        return InvalidArgument(path + ": an answered query out of order or a label out of range");
      }
      rows.push_back(q);
      given.push_back(l);
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + ": not a labels file of fl-worker ask (" + e.what() + ")");
  }
  if (rows.empty()) return FailedPrecondition(path + ": the vote answered no query; nothing to train on");
  data::Dataset labelled = data::Subset(data.train, rows);
  labelled.labels = given;
  const size_t n = labelled.size();
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t,
                      Trainer::Create(plan, data::Split{std::move(labelled), std::move(data.test)}, o.device,
                                      TrainingSeed(o, plan.training.seed)));
  FL_ASSIGN_OR_RETURN(const double loss, TrainPasses(*t, r.rounds, "student round"));
  FL_ASSIGN_OR_RETURN(const EvalMetrics eval, t->Evaluate());
  if (!r.output_model.empty()) {
    FL_RETURN_IF_ERROR(WriteSafetensors(Env::Default(), r.output_model, {t->Layout(), t->Parameters(), ModelMetadata(plan)}));
  }
  nlohmann::json out = TestMetricsJson(eval);
  out["name"] = o.name;
  out["mode"] = "student";
  out["labelled"] = n;
  out["queries"] = labels["queries"];
  out["epsilon"] = labels.value("epsilon", 0.0);
  out["delta"] = labels.value("delta", 0.0);
  out["train_loss"] = loss;
  return out;
}

}  // namespace fl::worker
