#include "fl/plan.h"

namespace fl {

void ReadPlan(ConfigReader& r, Plan* p) {
  ConfigReader m = r.Child("model");
  m.GetEnum("name", &p->model.name, {"logreg", "mlp", "cnn", "resnet"});
  m.Get("hidden", &p->model.hidden, 1, 65536);
  m.Get("channels", &p->model.channels, 1, 1024);
  m.Get("dropout", &p->model.dropout, 0.0, 0.95);
  m.Get("init_seed", &p->model.init_seed, 0, UINT64_MAX);
  (void)m.Finish();
  for (double h : p->model.hidden) {
    if (h != static_cast<int64_t>(h)) m.Error("hidden", "layer widths must be integers");
  }
  ConfigReader t = r.Child("training");
  t.GetEnum("optimizer", &p->training.optimizer, {"sgd", "adam"});
  t.Get("learning_rate", &p->training.learning_rate, 1e-8, 10.0);
  t.Get("momentum", &p->training.momentum, 0.0, 0.999);
  t.Get("weight_decay", &p->training.weight_decay, 0.0, 1.0);
  t.Get("epochs", &p->training.epochs, 1, 10000);
  t.Get("batch_size", &p->training.batch_size, 1, 1 << 20);
  t.Get("seed", &p->training.seed, 0, UINT64_MAX);
  (void)t.Finish();
  ConfigReader a = r.Child("adversarial");
  a.Get("enabled", &p->adversarial.enabled);
  a.Get("eps", &p->adversarial.eps, 0.0, 10.0);
  a.Get("alpha", &p->adversarial.alpha, 0.0, 10.0);
  a.Get("steps", &p->adversarial.steps, 1, 1000);
  a.Get("random_start", &p->adversarial.random_start);
  a.Get("fraction", &p->adversarial.fraction, 0.0, 1.0);
  a.Get("weight", &p->adversarial.weight, 0.0, 100.0);
  (void)a.Finish();
  ConfigReader e = r.Child("evaluation");
  e.Get("robust_eps", &p->evaluation.robust_eps, 0.0, 10.0);
  e.Get("robust_steps", &p->evaluation.robust_steps, 1, 1000);
  (void)e.Finish();
}

StatusOr<Plan> ParsePlan(const nlohmann::json& j, const std::string& what) {
  Plan p;
  ConfigReader r(j, what);
  ReadPlan(r, &p);
  FL_RETURN_IF_ERROR(r.Finish());
  return p;
}

nlohmann::json PlanToJson(const Plan& p) {
  return {
      {"model",
       {{"name", p.model.name}, {"hidden", p.model.hidden}, {"channels", p.model.channels},
        {"dropout", p.model.dropout}, {"init_seed", p.model.init_seed}}},
      {"training",
       {{"optimizer", p.training.optimizer}, {"learning_rate", p.training.learning_rate},
        {"momentum", p.training.momentum}, {"weight_decay", p.training.weight_decay},
        {"epochs", p.training.epochs}, {"batch_size", p.training.batch_size},
        {"seed", p.training.seed}}},
      {"adversarial",
       {{"enabled", p.adversarial.enabled}, {"eps", p.adversarial.eps}, {"alpha", p.adversarial.alpha},
        {"steps", p.adversarial.steps}, {"random_start", p.adversarial.random_start},
        {"fraction", p.adversarial.fraction}, {"weight", p.adversarial.weight}}},
      {"evaluation", {{"robust_eps", p.evaluation.robust_eps}, {"robust_steps", p.evaluation.robust_steps}}}};
}

}  // namespace fl
