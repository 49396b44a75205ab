#include "training/personalized_trainer.h"

#include <algorithm>
#include <cstdio>

#include "fl/log.h"
#include "fl/safetensors.h"

namespace fl::worker {
namespace {

class PersonalizedTrainer final : public Trainer {
 public:
  PersonalizedTrainer(std::unique_ptr<Trainer> inner, const Plan& plan, std::vector<bool> personal, Env& env,
                      std::string path)
      : inner_(std::move(inner)), plan_(plan), method_(plan.personalization.method), personal_(std::move(personal)),
        env_(env), path_(std::move(path)), full_(inner_->Layout()) {
    for (bool p : personal_) shared_mask_.push_back(!p);
    shared_ = SelectLayout(full_, shared_mask_);
  }

  // Makes the personal model's folder, and resumes the model saved there if there is one.
  Status Resume() {
    if (path_.empty()) return Status::Ok();
    const size_t slash = path_.rfind('/');
    if (slash != std::string::npos && slash > 0) FL_RETURN_IF_ERROR(env_.MakeDirs(path_.substr(0, slash)));
    if (!env_.FileExists(path_)) return Status::Ok();
    FL_ASSIGN_OR_RETURN(Checkpoint c, ReadSafetensors(env_, path_));
    const auto m = c.metadata.find("personalization");
    if (m == c.metadata.end() || m->second != method_) {
      return InvalidArgument(path_ + " holds a personal model of another method (" +
                             (m == c.metadata.end() ? std::string("none") : m->second) + ", the plan says " + method_ +
                             "); move it away to start a new personal model");
    }
    FL_RETURN_IF_ERROR(CheckSameLayout(full_, c.layout, path_));
    FL_RETURN_IF_ERROR(CheckFinite(c, path_));
    if (method_ == "ditto") {
      personal_model_ = c.values;
    } else {
      std::vector<float> now = inner_->Parameters();
      FL_RETURN_IF_ERROR(PlaceTensors(full_, personal_, SelectTensors(full_, personal_, c.values), &now));
      FL_RETURN_IF_ERROR(inner_->SetParameters(now));
    }
    FL_LOG(kInfo) << "resumed this hospital's personal model (" << method_ << ") from " << path_;
    return Status::Ok();
  }

  ModelLayout Layout() override { return shared_; }

  std::vector<float> Parameters() override { return SelectTensors(full_, shared_mask_, inner_->Parameters()); }

  Status SetParameters(const std::vector<float>& shared) override {
    std::vector<float> all = inner_->Parameters();
    FL_RETURN_IF_ERROR(PlaceTensors(full_, shared_mask_, shared, &all));
    return inner_->SetParameters(all);
  }

  StatusOr<TrainStats> Train(int64_t round, const std::atomic<bool>* cancel) override {
    TrainStats stats;
    if (method_ == "fedrep") {
      // The head first, on the body as the federation sent it; then the body.
      LocalPass head, body;
      head.epochs = plan_.personalization.head_epochs;
      for (bool p : personal_) head.frozen.push_back(!p), body.frozen.push_back(p);
      FL_ASSIGN_OR_RETURN(const TrainStats h, inner_->TrainPass(round, head, cancel));
      FL_ASSIGN_OR_RETURN(stats, inner_->TrainPass(round, body, cancel));
      stats.seconds += h.seconds;
    } else if (method_ == "ditto") {
      // The global model's local update as in FedAvg, then the personal model's pass
      // pulled toward the global model this round started from.
      const std::vector<float> global = inner_->Parameters();
      FL_ASSIGN_OR_RETURN(stats, inner_->Train(round, cancel));
      const std::vector<float> trained = inner_->Parameters();
      if (personal_model_.empty()) personal_model_ = global;
      FL_RETURN_IF_ERROR(inner_->SetParameters(personal_model_));
      LocalPass pull;
      pull.anchor = global;
      pull.anchor_mu = plan_.personalization.ditto_lambda;
      StatusOr<TrainStats> p = inner_->TrainPass(round, pull, cancel);
      if (p.ok()) personal_model_ = inner_->Parameters();
      FL_RETURN_IF_ERROR(inner_->SetParameters(trained));
      FL_RETURN_IF_ERROR(p.status());
      stats.seconds += p->seconds;
    } else {
      FL_ASSIGN_OR_RETURN(stats, inner_->Train(round, cancel));
    }
    if (method_ != "finetune") FL_RETURN_IF_ERROR(Save(round));  // fine-tuning happens at the end
    return stats;
  }

  StatusOr<TrainStats> TrainPass(int64_t round, const LocalPass& pass, const std::atomic<bool>* cancel) override {
    return inner_->TrainPass(round, pass, cancel);  // per-tensor vectors of the whole model
  }

  TensorRoles Roles() override {
    const TensorRoles all = inner_->Roles();
    TensorRoles out;
    for (size_t i = 0; i < personal_.size(); ++i) {
      if (personal_[i]) continue;
      if (i < all.normalization.size()) out.normalization.push_back(all.normalization[i]);
      if (i < all.head.size()) out.head.push_back(all.head[i]);
    }
    return out;
  }

  void SetLocalPrediction(bool local) override { inner_->SetLocalPrediction(local); }

  StatusOr<EvalMetrics> Evaluate() override {
    return WithPersonalModel<EvalMetrics>([this] { return inner_->Evaluate(); });
  }

  StatusOr<EvalMetrics> EvaluateFinalModel(int64_t model_version) override {
    if (method_ == "finetune") {
      // The final global model, fine-tuned on this hospital's data; its global version is
      // in the coordinator's checkpoint.
      LocalPass tune;
      tune.epochs = plan_.personalization.finetune_epochs;
      const std::vector<float> global = inner_->Parameters();
      const Status tuned = inner_->TrainPass(model_version, tune, nullptr).status();
      if (tuned.ok()) personal_model_ = inner_->Parameters();
      FL_RETURN_IF_ERROR(inner_->SetParameters(global));
      FL_RETURN_IF_ERROR(tuned);
    }
    FL_RETURN_IF_ERROR(Save(model_version));
    return Evaluate();
  }

  StatusOr<std::vector<float>> PredictProbabilities(const data::Dataset& d) override {
    return WithPersonalModel<std::vector<float>>([&] { return inner_->PredictProbabilities(d); });
  }
  StatusOr<std::vector<uint8_t>> PredictMasks(const data::Dataset& d) override {
    return WithPersonalModel<std::vector<uint8_t>>([&] { return inner_->PredictMasks(d); });
  }
  bool segmentation() const override { return inner_->segmentation(); }
  int64_t num_classes() const override { return inner_->num_classes(); }
  int64_t num_train_samples() const override { return inner_->num_train_samples(); }
  int64_t num_test_samples() const override { return inner_->num_test_samples(); }
  std::string device_name() const override { return inner_->device_name(); }

 private:
  // Runs `fn` on the model this hospital uses: Ditto's and a fine-tuned personal model are
  // a separate vector, put in place for the call; the others are the wrapped model itself.
  template <typename T, typename Fn>
  StatusOr<T> WithPersonalModel(Fn fn) {
    if (personal_model_.empty()) return fn();
    const std::vector<float> global = inner_->Parameters();
    FL_RETURN_IF_ERROR(inner_->SetParameters(personal_model_));
    StatusOr<T> out = fn();
    FL_RETURN_IF_ERROR(inner_->SetParameters(global));
    return out;
  }

  // Writes the whole model this hospital uses, with the plan and the round, atomically.
  Status Save(int64_t round) {
    if (path_.empty()) return Status::Ok();
    Checkpoint c{full_, personal_model_.empty() ? inner_->Parameters() : personal_model_, ModelMetadata(plan_)};
    c.metadata["personalization"] = method_;
    c.metadata["round"] = std::to_string(round);
    return WriteSafetensors(env_, path_, c);
  }

  std::unique_ptr<Trainer> inner_;
  Plan plan_;
  std::string method_;
  std::vector<bool> personal_;  // per tensor of the whole model
  std::vector<bool> shared_mask_;
  Env& env_;
  std::string path_;
  ModelLayout full_, shared_;
  std::vector<float> personal_model_;  // Ditto's personal model, or the fine-tuned one
};

}  // namespace

ModelLayout SelectLayout(const ModelLayout& layout, const std::vector<bool>& which) {
  ModelLayout out;
  for (size_t i = 0; i < layout.tensors.size() && i < which.size(); ++i) {
    if (which[i]) out.tensors.push_back(layout.tensors[i]);
  }
  return out;
}

std::vector<float> SelectTensors(const ModelLayout& layout, const std::vector<bool>& which,
                                 const std::vector<float>& whole) {
  std::vector<float> out;
  uint64_t at = 0;
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const uint64_t n = layout.tensors[i].numel();
    if (i < which.size() && which[i] && at + n <= whole.size()) out.insert(out.end(), whole.begin() + at, whole.begin() + at + n);
    at += n;
  }
  return out;
}

Status PlaceTensors(const ModelLayout& layout, const std::vector<bool>& which, const std::vector<float>& packed,
                    std::vector<float>* whole) {
  const uint64_t selected = SelectLayout(layout, which).dimension();
  if (which.size() != layout.tensors.size() || whole->size() != layout.dimension() || packed.size() != selected) {
    return InvalidArgument("the model has " + std::to_string(selected) + " parameters of this kind, the vector " +
                           std::to_string(packed.size()));
  }
  uint64_t at = 0, from = 0;
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const uint64_t n = layout.tensors[i].numel();
    if (which[i]) {
      std::copy_n(packed.begin() + from, n, whole->begin() + at);
      from += n;
    }
    at += n;
  }
  return Status::Ok();
}

std::string PersonalModelPath(const std::string& state_dir) { return state_dir + "/personal-model.safetensors"; }

StatusOr<std::vector<bool>> PersonalTensors(const PersonalizationPlan& p, Trainer& inner) {
  const size_t n = inner.Layout().tensors.size();
  if (p.method != "fedbn" && p.method != "fedrep" && p.method != "decoupled") return std::vector<bool>(n, false);
  const TensorRoles roles = inner.Roles();
  const std::vector<bool>& pick =
      p.method == "fedbn" ? roles.normalization : p.method == "fedrep" ? roles.head : roles.adaptation;
  if (pick.size() != n || std::none_of(pick.begin(), pick.end(), [](bool b) { return b; })) {
    const char* what = p.method == "fedbn"     ? "normalisation layers"
                       : p.method == "fedrep" ? "an output head"
                                              : "an adaptation network";
    return InvalidArgument("personalization " + p.method + " needs a model with " + what + "; this one has none");
  }
  if (std::all_of(pick.begin(), pick.end(), [](bool b) { return b; })) {
    return InvalidArgument("personalization " + p.method + " would keep every tensor personal: nothing to share");
  }
  return pick;
}

StatusOr<std::unique_ptr<Trainer>> Personalize(std::unique_ptr<Trainer> inner, const Plan& plan, Env& env,
                                               const std::string& state_path) {
  if (plan.personalization.method == "none") return inner;
  FL_ASSIGN_OR_RETURN(std::vector<bool> personal, PersonalTensors(plan.personalization, *inner));
  auto t = std::make_unique<PersonalizedTrainer>(std::move(inner), plan, std::move(personal), env, state_path);
  FL_RETURN_IF_ERROR(t->Resume());
  return std::unique_ptr<Trainer>(std::move(t));
}

}  // namespace fl::worker
