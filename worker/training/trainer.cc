// LibTorch implementation of Trainer.
#include "training/trainer.h"

#include <algorithm>
#include <cmath>

#include "fl/env.h"
#include "fl/log.h"
#include "fl/models/decoupled.h"
#include "fl/models/losses.h"
#include "fl/models/registry.h"
#include "training/augment.h"
#include "training/evaluation.h"
#include "training/pgd.h"
#include "training/progress.h"
#include "training/trainer_plan.h"

namespace fl::worker {
namespace {

StatusOr<torch::Device> ResolveDevice(const DeviceOptions& o) {
  try {
    if (o.device == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    torch::Device d(o.device);
    if (d.is_cuda() && !torch::cuda::is_available()) {
      return InvalidArgument("device " + o.device + " requested but this LibTorch build has no usable CUDA");
    }
    return d;
  } catch (const c10::Error& e) {
    return InvalidArgument("bad device '" + o.device + "': expected auto, cpu, cuda or cuda:N");
  }
}

torch::Tensor FeaturesTensor(const data::Dataset& d) {
  std::vector<int64_t> shape = {static_cast<int64_t>(d.size())};
  shape.insert(shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  return torch::from_blob(const_cast<float*>(d.features.data()), shape, torch::kFloat32).clone();
}

// Class labels [N] (int64), or for segmentation the masks [N, H, W] or [N, D, H, W] (uint8,
// widened per batch).
torch::Tensor TargetsTensor(const data::Dataset& d) {
  const int64_t n = static_cast<int64_t>(d.size());
  if (d.segmentation()) {
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), d.mask_shape.begin(), d.mask_shape.end());
    return torch::from_blob(const_cast<uint8_t*>(d.masks.data()), shape, torch::kUInt8).clone();
  }
  return torch::from_blob(const_cast<int64_t*>(d.labels.data()), {n}, torch::kInt64).clone();
}

namespace F = torch::nn::functional;

class TorchTrainer : public Trainer {
 public:
  TorchTrainer(const Plan& plan, std::shared_ptr<models::Net> net, data::Split data, torch::Device device,
               uint64_t seed)
      : plan_(plan), net_(std::move(net)), device_(device), seed_(seed), num_classes_(data.train.num_classes),
        seg_(data.train.segmentation()), sample_shape_(data.train.sample_shape),
        decoupled_(std::dynamic_pointer_cast<models::DecoupledNet>(net_)) {
    net_->to(device_);
    train_x_ = FeaturesTensor(data.train).to(device_);
    train_y_ = TargetsTensor(data.train).to(device_);
    // Valid intensity range for adversarial and noisy samples: [0, 1] for data in that
    // range (images scaled from 8 bits), else the training data's own range.
    lo_ = std::min(0.0, train_x_.min().item<double>());
    hi_ = std::max(1.0, train_x_.max().item<double>());
    test_x_ = FeaturesTensor(data.test).to(device_);
    test_y_ = TargetsTensor(data.test).to(device_);
    test_cases_ = CaseIds(data.test);
    if (!seg_ && plan_.training.logit_adjustment > 0) {
      // tau * log of this hospital's training class shares, add-one smoothed so that a
      // class the hospital has never seen gets a finite offset.
      const torch::Tensor counts = torch::bincount(train_y_, {}, num_classes_).to(torch::kFloat64);
      log_prior_ = (plan_.training.logit_adjustment * ((counts + 1) / (counts.sum() + num_classes_)).log())
                       .to(torch::kFloat32).unsqueeze(0).to(device_);
    }
  }

  ModelLayout Layout() override { return models::Layout(*net_); }
  std::vector<float> Parameters() override { return models::Flatten(*net_); }
  Status SetParameters(const std::vector<float>& v) override { return models::Unflatten(*net_, v); }
  int64_t num_train_samples() const override { return train_x_.size(0); }
  int64_t num_test_samples() const override { return test_x_.size(0); }
  std::string device_name() const override { return device_.str(); }
  bool segmentation() const override { return seg_; }
  int64_t num_classes() const override { return num_classes_; }

  StatusOr<TrainStats> Train(int64_t round, const std::atomic<bool>* cancel) override {
    return TrainPass(round, LocalPass{}, cancel);
  }

  StatusOr<TrainStats> TrainPass(int64_t round, const LocalPass& pass, const std::atomic<bool>* cancel) override {
    auto params = net_->parameters();
    if (!pass.frozen.empty() && pass.frozen.size() != params.size()) {
      return InvalidArgument("a training pass names " + std::to_string(pass.frozen.size()) + " tensors, the model has " +
                             std::to_string(params.size()));
    }
    int64_t numel = 0;
    for (const auto& p : params) numel += p.numel();
    if (!pass.anchor.empty() && pass.anchor.size() != static_cast<size_t>(numel)) {
      return InvalidArgument("a proximal anchor of the wrong size");
    }
    // Frozen tensors get no gradient (an earlier pass's is dropped: the optimisers skip only
    // undefined gradients, and would apply weight decay to a zeroed one).
    for (size_t i = 0; i < pass.frozen.size(); ++i) {
      if (pass.frozen[i]) params[i].mutable_grad() = torch::Tensor();
      params[i].set_requires_grad(!pass.frozen[i]);
    }
    StatusOr<TrainStats> out = FailedPrecondition("not trained");
    try {
      out = TrainImpl(round, pass, cancel);
    } catch (const c10::Error& e) {
      out = Internal(std::string("training failed: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      out = Internal(std::string("training failed: ") + e.what());
    }
    for (auto& p : params) p.set_requires_grad(true);
    return out;
  }

  TensorRoles Roles() override {
    TensorRoles r;
    for (const models::TensorRole& role : models::Roles(*net_)) {
      r.normalization.push_back(role.normalization);
      r.head.push_back(role.head);
      r.adaptation.push_back(role.adaptation);
    }
    return r;
  }
  void SetLocalPrediction(bool local) override {
    if (decoupled_) decoupled_->set_local_prediction(local);
  }

  StatusOr<EvalMetrics> Evaluate() override {
    try {
      return EvaluateImpl();
    } catch (const c10::Error& e) {
      return Internal(std::string("evaluation failed: ") + e.what_without_backtrace());
    }
  }

  StatusOr<std::vector<float>> PredictProbabilities(const data::Dataset& d) override {
    FL_RETURN_IF_ERROR(CheckShape(d));
    try {
      std::vector<float> out;
      ForEachPrediction(d, [&](const torch::Tensor& logits) {
        const torch::Tensor p = torch::softmax(logits, 1).to(torch::kCPU).contiguous();
        out.insert(out.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
      });
      return out;
    } catch (const c10::Error& e) {
      return Internal(std::string("prediction failed: ") + e.what_without_backtrace());
    }
  }

  StatusOr<std::vector<uint8_t>> PredictMasks(const data::Dataset& d) override {
    if (!seg_) return FailedPrecondition("this is a classifier: it predicts class probabilities, not masks");
    FL_RETURN_IF_ERROR(CheckShape(d));
    try {
      std::vector<uint8_t> out;
      ForEachPrediction(d, [&](const torch::Tensor& logits) {
        const torch::Tensor m = logits.argmax(1).to(torch::kUInt8).to(torch::kCPU).contiguous();
        out.insert(out.end(), m.data_ptr<uint8_t>(), m.data_ptr<uint8_t>() + m.numel());
      });
      return out;
    } catch (const c10::Error& e) {
      return Internal(std::string("prediction failed: ") + e.what_without_backtrace());
    }
  }

 private:
  Status CheckShape(const data::Dataset& d) const { return CheckPredictionSamples(d, seg_, sample_shape_); }

  template <typename Fn>
  void ForEachPrediction(const data::Dataset& d, Fn&& fn) {
    torch::NoGradGuard no_grad;
    net_->eval();
    const torch::Tensor x = FeaturesTensor(d);
    const int64_t batch = PredictionBatchSize(d.SampleNumel());
    for (int64_t off = 0; off < x.size(0); off += batch) {
      fn(net_->forward(x.slice(0, off, std::min(x.size(0), off + batch)).to(device_)));
    }
  }

  std::unique_ptr<torch::optim::Optimizer> MakeOptimizer(double lr) {
    const auto& t = plan_.training;
    if (t.optimizer == "sgd") {
      return std::make_unique<torch::optim::SGD>(
          net_->parameters(), torch::optim::SGDOptions(lr).momentum(t.momentum).weight_decay(t.weight_decay));
    }
    return std::make_unique<torch::optim::Adam>(net_->parameters(),
                                                torch::optim::AdamOptions(lr).weight_decay(t.weight_decay));
  }

  // Per-batch targets as the loss wants them: int64 labels or int64 masks.
  static torch::Tensor Targets(const torch::Tensor& y) { return y.scalar_type() == torch::kInt64 ? y : y.to(torch::kInt64); }

  // Cross-entropy; for segmentation plus the soft Dice loss of the foreground classes
  // (pooled over the batch), which keeps small structures from drowning in background.
  // A classifier with plan.training.logit_adjustment trains on the adjusted logits.
  torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& y) {
    if (!seg_) return F::cross_entropy(log_prior_.defined() ? logits + log_prior_ : logits, y);
    return F::cross_entropy(logits, y) + models::SoftDiceLoss(torch::softmax(logits, 1), y, num_classes_);
  }

  StatusOr<TrainStats> TrainImpl(int64_t round, const LocalPass& pass, const std::atomic<bool>* cancel) {
    const auto started = Env::Default().Now();
    TrainingPlan t = plan_.training;
    if (pass.epochs > 0) t.epochs = pass.epochs, t.steps = 0;
    const int64_t n = train_x_.size(0);
    const LocalSchedule sched = ScheduleFor(t, n);
    const int64_t bs = sched.batch_size, total_steps = sched.total_steps;
    auto opt = MakeOptimizer(LearningRateAt(t, round));
    // Proximal anchor: the pass's (Ditto's global model), else FedProx's: the global model
    // this round started from.
    std::vector<torch::Tensor> anchor;
    double mu = t.proximal_mu;
    if (!pass.anchor.empty()) {
      mu = pass.anchor_mu;
      int64_t off = 0;
      for (const auto& p : net_->parameters()) {
        anchor.push_back(torch::from_blob(const_cast<float*>(pass.anchor.data() + off), p.sizes(), torch::kFloat32)
                             .clone().to(device_));
        off += p.numel();
      }
    } else if (t.proximal_mu > 0) {
      for (const auto& p : net_->parameters()) anchor.push_back(p.detach().clone());
    }
    net_->train();
    TrainStats stats;
    Progress progress("round " + std::to_string(round + 1) + " training", sched.total_samples);
    double loss_sum = 0;
    int64_t step = 0;
    // Data order and augmentation: a generator seeded per pass from the round and the pass.
    for (int64_t pass = 0; step < total_steps; ++pass) {
      torch::manual_seed(PassSeed(seed_, round, sched.passes_per_round, pass));
      const torch::Tensor perm = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64)).to(device_);
      for (int64_t off = 0; off < n && step < total_steps; off += bs, ++step) {
        if (cancel && cancel->load()) return Aborted("training cancelled");
        const torch::Tensor idx = perm.slice(0, off, std::min(n, off + bs));
        torch::Tensor x = train_x_.index_select(0, idx);
        torch::Tensor y = train_y_.index_select(0, idx);
        if (plan_.augmentation.probability > 0) {
          Augmented a = Augment(plan_.augmentation, x, seg_ ? y : torch::Tensor(), lo_, hi_);
          x = a.x;
          if (seg_) y = a.mask;
        }
        torch::Tensor loss = BatchLoss(x, Targets(y));
        if (!anchor.empty()) {
          torch::Tensor prox = torch::zeros({}, loss.options());
          const auto params = net_->parameters();
          for (size_t i = 0; i < params.size(); ++i) prox = prox + (params[i] - anchor[i]).pow(2).sum();
          loss = loss + 0.5 * mu * prox;
        }
        opt->zero_grad();
        loss.backward();
        opt->step();
        const double batch_loss = loss.item<double>();
        if (!std::isfinite(batch_loss)) return Internal("training diverged (non-finite loss); lower the learning rate");
        loss_sum += batch_loss;
        stats.samples += idx.size(0);
        progress.Update(stats.samples, loss_sum / static_cast<double>(step + 1));
      }
    }
    stats.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(step, 1));
    stats.seconds = ToSeconds(Env::Default().Now() - started);
    return stats;
  }

  // Clean loss, or with adversarial training the clean part of the batch plus lambda
  // times the loss on PGD samples made from the rest.
  // The model's training loss on samples: decoupled prediction's own, else Loss.
  torch::Tensor SampleLoss(const torch::Tensor& x, const torch::Tensor& y) {
    return decoupled_ ? decoupled_->Loss(x, y).total : Loss(net_->forward(x), y);
  }

  torch::Tensor BatchLoss(const torch::Tensor& x, const torch::Tensor& y) {
    const AdversarialPlan& a = plan_.adversarial;
    if (!a.enabled) return SampleLoss(x, y);
    const int64_t b = x.size(0);
    const int64_t n_adv = AdversarialCount(a, b);
    torch::Tensor loss = torch::zeros({}, x.options());
    if (n_adv < b) loss = loss + SampleLoss(x.slice(0, n_adv), y.slice(0, n_adv));
    if (n_adv > 0) {
      const torch::Tensor xa = x.slice(0, 0, n_adv), ya = y.slice(0, 0, n_adv);
      const torch::Tensor adv = PgdAttack(*net_, xa, ya, PgdOptions{a.eps, a.alpha, a.steps, a.random_start, lo_, hi_});
      loss = loss + a.weight * SampleLoss(adv, ya);
    }
    return loss;
  }

  EvalMetrics EvaluateImpl() {
    const TestTensors test{test_x_, test_y_, test_cases_, num_classes_, seg_, lo_, hi_};
    EvalMetrics m = ScoreModel(*net_, test, 0.0, plan_.evaluation.robust_steps);
    for (double eps : plan_.evaluation.robust_eps) {
      const EvalMetrics r = ScoreModel(*net_, test, eps, plan_.evaluation.robust_steps);
      m.robust[RobustMetricName(seg_, eps)] = seg_ ? r.dice : r.accuracy;
    }
    return m;
  }

  Plan plan_;
  std::shared_ptr<models::Net> net_;
  torch::Device device_;
  uint64_t seed_;
  int64_t num_classes_;
  bool seg_;
  std::vector<int64_t> sample_shape_;
  std::shared_ptr<models::DecoupledNet> decoupled_;  // decoupled prediction's net_, else null
  torch::Tensor train_x_, train_y_, test_x_, test_y_;
  torch::Tensor log_prior_;  // [1, K] logit adjustment (classifiers), undefined when off
  std::vector<int32_t> test_cases_;
  double lo_ = 0, hi_ = 1;
};

}  // namespace

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const Plan& plan, data::Split data, const DeviceOptions& device,
                                                   uint64_t seed) {
  if (device.threads > 0) torch::set_num_threads(device.threads);
  FL_ASSIGN_OR_RETURN(torch::Device dev, ResolveDevice(device));
  FL_RETURN_IF_ERROR(CheckTrainerData(plan, models::IsSegmentationModel(plan.model.name), data));
  const int64_t classes = std::max(data.train.num_classes, data.test.num_classes);
  data.train.num_classes = data.test.num_classes = classes;
  std::shared_ptr<models::Net> net;
  if (plan.personalization.method == "decoupled") {
    const PersonalizationPlan& p = plan.personalization;
    const models::DecoupledOptions o{p.latent_dim, p.trace_weight, p.kl_weight, p.lq_exponent};
    FL_ASSIGN_OR_RETURN(net, models::BuildDecoupledUNet(plan.model, o, data.train.sample_shape, classes));
  } else {
    FL_ASSIGN_OR_RETURN(net, models::BuildModel(plan.model, data.train.sample_shape, classes));
  }
  try {
    return std::unique_ptr<Trainer>(new TorchTrainer(plan, std::move(net), std::move(data), dev, seed));
  } catch (const c10::Error& e) {
    return Internal(std::string("cannot place the model and data on ") + dev.str() + ": " + e.what_without_backtrace());
  }
}

}  // namespace fl::worker
