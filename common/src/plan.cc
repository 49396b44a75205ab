#include "fl/plan.h"

namespace fl {

void ReadPlan(ConfigReader& r, Plan* p) {
  ConfigReader m = r.Child("model");
  m.GetEnum("name", &p->model.name, {"logreg", "mlp", "cnn"});
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
        {"seed", p.training.seed}}}};
}

}  // namespace fl
