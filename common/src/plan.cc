#include "fl/plan.h"

#include <algorithm>
#include <cmath>

namespace fl {

void ReadPlan(ConfigReader& r, Plan* p) {
  ConfigReader m = r.Child("model");
  m.GetEnum("name", &p->model.name, {"logreg", "mlp", "cnn", "resnet", "unet"});
  m.Get("hidden", &p->model.hidden, 1, 65536);
  m.Get("channels", &p->model.channels, 1, 1024);
  m.Get("depth", &p->model.depth, 2, 6);
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
  t.Get("steps", &p->training.steps, 0, 100000000);
  t.GetEnum("lr_schedule", &p->training.lr_schedule, {"constant", "cosine", "step"});
  t.Get("schedule_rounds", &p->training.schedule_rounds, 1, 1000000);
  t.Get("min_learning_rate", &p->training.min_learning_rate, 0.0, 10.0);
  t.Get("lr_gamma", &p->training.lr_gamma, 1e-6, 1.0);
  t.Get("proximal_mu", &p->training.proximal_mu, 0.0, 1000.0);
  t.Get("logit_adjustment", &p->training.logit_adjustment, 0.0, 10.0);
  t.Get("batch_size", &p->training.batch_size, 1, 1 << 20);
  t.Get("seed", &p->training.seed, 0, UINT64_MAX);
  (void)t.Finish();
  if (p->training.min_learning_rate > p->training.learning_rate) {
    t.Error("min_learning_rate", "must not exceed learning_rate");
  }
  if (p->training.logit_adjustment > 0 && p->model.name == "unet") {
    t.Error("logit_adjustment", "applies to classifiers, not to the segmentation model unet");
  }
  ConfigReader g = r.Child("augmentation");
  g.Get("probability", &p->augmentation.probability, 0.0, 1.0);
  g.Get("flip", &p->augmentation.flip);
  g.Get("rotation_deg", &p->augmentation.rotation_deg, 0.0, 180.0);
  g.Get("elastic_alpha", &p->augmentation.elastic_alpha, 0.0, 100.0);
  g.Get("elastic_sigma", &p->augmentation.elastic_sigma, 0.5, 50.0);
  g.Get("noise_std", &p->augmentation.noise_std, 0.0, 10.0);
  (void)g.Finish();
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
  ConfigReader s = r.Child("personalization");
  s.GetEnum("method", &p->personalization.method, {"none", "finetune", "fedbn", "fedrep", "ditto", "decoupled"});
  s.Get("finetune_epochs", &p->personalization.finetune_epochs, 1, 10000);
  s.Get("head_epochs", &p->personalization.head_epochs, 1, 10000);
  s.Get("ditto_lambda", &p->personalization.ditto_lambda, 0.0, 1000.0);
  s.Get("latent_dim", &p->personalization.latent_dim, 1, 256);
  s.Get("trace_weight", &p->personalization.trace_weight, 0.0, 100.0);
  s.Get("kl_weight", &p->personalization.kl_weight, 0.0, 100.0);
  s.Get("lq_exponent", &p->personalization.lq_exponent, 0.01, 1.0);
  (void)s.Finish();
  if (p->personalization.method == "decoupled" && p->model.name != "unet") {
    s.Error("method", "decoupled prediction is for segmentation with the unet model, not " + p->model.name);
  }
  if (p->personalization.method == "fedbn" && (p->model.name == "logreg" || p->model.name == "mlp")) {
    s.Error("method", "fedbn keeps normalisation layers personal; model " + p->model.name + " has none");
  }
}

double LearningRateAt(const TrainingPlan& t, int64_t round) {
  const double r = static_cast<double>(std::max<int64_t>(0, round));
  const double horizon = static_cast<double>(std::max<int64_t>(1, t.schedule_rounds));
  if (t.lr_schedule == "cosine") {
    const double progress = std::min(1.0, r / horizon);
    return t.min_learning_rate + (t.learning_rate - t.min_learning_rate) * 0.5 * (1.0 + std::cos(M_PI * progress));
  }
  if (t.lr_schedule == "step") return t.learning_rate * std::pow(t.lr_gamma, std::floor(r / horizon));
  return t.learning_rate;
}

std::map<std::string, std::string> ModelMetadata(const Plan& p) {
  return {{"format", "pt"}, {"model", p.model.name}, {"plan", PlanToJson(p).dump()}};
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
        {"depth", p.model.depth}, {"dropout", p.model.dropout}, {"init_seed", p.model.init_seed}}},
      {"training",
       {{"optimizer", p.training.optimizer}, {"learning_rate", p.training.learning_rate},
        {"momentum", p.training.momentum}, {"weight_decay", p.training.weight_decay},
        {"epochs", p.training.epochs}, {"steps", p.training.steps}, {"batch_size", p.training.batch_size},
        {"seed", p.training.seed}, {"lr_schedule", p.training.lr_schedule},
        {"schedule_rounds", p.training.schedule_rounds}, {"min_learning_rate", p.training.min_learning_rate},
        {"lr_gamma", p.training.lr_gamma}, {"proximal_mu", p.training.proximal_mu},
        {"logit_adjustment", p.training.logit_adjustment}}},
      {"augmentation",
       {{"probability", p.augmentation.probability}, {"flip", p.augmentation.flip},
        {"rotation_deg", p.augmentation.rotation_deg}, {"elastic_alpha", p.augmentation.elastic_alpha},
        {"elastic_sigma", p.augmentation.elastic_sigma}, {"noise_std", p.augmentation.noise_std}}},
      {"adversarial",
       {{"enabled", p.adversarial.enabled}, {"eps", p.adversarial.eps}, {"alpha", p.adversarial.alpha},
        {"steps", p.adversarial.steps}, {"random_start", p.adversarial.random_start},
        {"fraction", p.adversarial.fraction}, {"weight", p.adversarial.weight}}},
      {"evaluation", {{"robust_eps", p.evaluation.robust_eps}, {"robust_steps", p.evaluation.robust_steps}}},
      {"personalization",
       {{"method", p.personalization.method}, {"finetune_epochs", p.personalization.finetune_epochs},
        {"head_epochs", p.personalization.head_epochs}, {"ditto_lambda", p.personalization.ditto_lambda},
        {"latent_dim", p.personalization.latent_dim}, {"trace_weight", p.personalization.trace_weight},
        {"kl_weight", p.personalization.kl_weight}, {"lq_exponent", p.personalization.lq_exponent}}}};
}

}  // namespace fl
