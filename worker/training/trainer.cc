// LibTorch implementation of Trainer.
#include "training/trainer.h"

#include <chrono>
#include <cmath>

#include "fl/log.h"
#include "fl/models/registry.h"
#include "training/metrics.h"
#include "training/pgd.h"

namespace fl::worker {

torch::Tensor PgdAttack(models::Net& net, const torch::Tensor& x, const torch::Tensor& y, const PgdOptions& o) {
  // The attack differentiates with respect to the input only.
  std::vector<torch::Tensor> params = net.parameters();
  std::vector<bool> required;
  for (auto& p : params) {
    required.push_back(p.requires_grad());
    p.requires_grad_(false);
  }
  const torch::Tensor x0 = x.detach();
  auto project = [&](const torch::Tensor& a) {
    return torch::min(torch::max(a, x0 - o.eps), x0 + o.eps).clamp(o.lo, o.hi);
  };
  torch::Tensor adv = x0.clone();
  if (o.random_start && o.eps > 0) adv = project(adv + torch::empty_like(adv).uniform_(-o.eps, o.eps));
  for (int64_t k = 0; k < o.steps; ++k) {
    adv = adv.detach().requires_grad_(true);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(net.forward(adv), y);
    const torch::Tensor grad = torch::autograd::grad({loss}, {adv})[0];
    adv = project(adv.detach() + o.alpha * grad.sign());
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].requires_grad_(required[i]);
  return adv.detach();
}

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

torch::Tensor LabelsTensor(const data::Dataset& d) {
  return torch::from_blob(const_cast<int64_t*>(d.labels.data()), {static_cast<int64_t>(d.size())}, torch::kInt64)
      .clone();
}

class TorchTrainer : public Trainer {
 public:
  TorchTrainer(const Plan& plan, std::shared_ptr<models::Net> net, data::Split data, torch::Device device,
               uint64_t seed)
      : plan_(plan), net_(std::move(net)), device_(device), seed_(seed), num_classes_(data.train.num_classes) {
    net_->to(device_);
    train_x_ = FeaturesTensor(data.train).to(device_);
    train_y_ = LabelsTensor(data.train).to(device_);
    // Valid intensity range for adversarial samples: [0, 1] for images, the training
    // data's range for tables.
    if (data.train.sample_shape.size() == 3) {
      lo_ = 0.0;
      hi_ = 1.0;
    } else {
      lo_ = train_x_.min().item<double>();
      hi_ = train_x_.max().item<double>();
    }
    test_x_ = FeaturesTensor(data.test).to(device_);
    test_y_ = LabelsTensor(data.test).to(device_);
  }

  ModelLayout Layout() override { return models::Layout(*net_); }
  std::vector<float> Parameters() override { return models::Flatten(*net_); }
  Status SetParameters(const std::vector<float>& v) override { return models::Unflatten(*net_, v); }
  int64_t num_train_samples() const override { return train_y_.size(0); }
  int64_t num_test_samples() const override { return test_y_.size(0); }
  std::string device_name() const override { return device_.str(); }

  StatusOr<TrainStats> Train(const std::atomic<bool>* cancel) override {
    try {
      return TrainImpl(cancel);
    } catch (const c10::Error& e) {
      return Internal(std::string("training failed: ") + e.what_without_backtrace());
    }
  }

  StatusOr<EvalMetrics> Evaluate() override {
    try {
      return EvaluateImpl();
    } catch (const c10::Error& e) {
      return Internal(std::string("evaluation failed: ") + e.what_without_backtrace());
    }
  }

 private:
  std::unique_ptr<torch::optim::Optimizer> MakeOptimizer() {
    const auto& t = plan_.training;
    if (t.optimizer == "sgd") {
      return std::make_unique<torch::optim::SGD>(
          net_->parameters(),
          torch::optim::SGDOptions(t.learning_rate).momentum(t.momentum).weight_decay(t.weight_decay));
    }
    return std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(t.learning_rate).weight_decay(t.weight_decay));
  }

  StatusOr<TrainStats> TrainImpl(const std::atomic<bool>* cancel) {
    const auto started = std::chrono::steady_clock::now();
    const int64_t n = train_y_.size(0);
    const int64_t bs = plan_.training.batch_size;
    auto opt = MakeOptimizer();
    net_->train();
    TrainStats stats;
    for (int64_t epoch = 0; epoch < plan_.training.epochs; ++epoch) {
      // Data order: a CPU generator seeded per call, so runs are reproducible.
      torch::manual_seed(seed_ + 7919 * calls_);
      ++calls_;
      const torch::Tensor perm = torch::randperm(n, torch::TensorOptions().dtype(torch::kInt64)).to(device_);
      double loss_sum = 0;
      for (int64_t off = 0; off < n; off += bs) {
        if (cancel && cancel->load()) return Aborted("training cancelled");
        const torch::Tensor idx = perm.slice(0, off, std::min(n, off + bs));
        const torch::Tensor x = train_x_.index_select(0, idx);
        const torch::Tensor y = train_y_.index_select(0, idx);
        torch::Tensor loss = BatchLoss(x, y);
        opt->zero_grad();
        loss.backward();
        opt->step();
        const double batch_loss = loss.item<double>();
        if (!std::isfinite(batch_loss)) return Internal("training diverged (non-finite loss); lower the learning rate");
        loss_sum += batch_loss * static_cast<double>(idx.size(0));
      }
      stats.train_loss = loss_sum / static_cast<double>(std::max<int64_t>(n, 1));
      stats.samples += n;
    }
    stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return stats;
  }

  // Clean loss, or with adversarial training the clean part of the batch plus lambda
  // times the loss on PGD samples made from the rest.
  torch::Tensor BatchLoss(const torch::Tensor& x, const torch::Tensor& y) {
    const AdversarialPlan& a = plan_.adversarial;
    if (!a.enabled) return torch::nn::functional::cross_entropy(net_->forward(x), y);
    const int64_t b = x.size(0);
    const int64_t n_adv = std::min<int64_t>(b, static_cast<int64_t>(std::llround(a.fraction * static_cast<double>(b))));
    torch::Tensor loss = torch::zeros({}, x.options());
    if (n_adv < b) {
      loss = loss + torch::nn::functional::cross_entropy(net_->forward(x.slice(0, n_adv)), y.slice(0, n_adv));
    }
    if (n_adv > 0) {
      const torch::Tensor xa = x.slice(0, 0, n_adv), ya = y.slice(0, 0, n_adv);
      const torch::Tensor adv = PgdAttack(*net_, xa, ya, PgdOptions{a.eps, a.alpha, a.steps, a.random_start, lo_, hi_});
      loss = loss + a.weight * torch::nn::functional::cross_entropy(net_->forward(adv), ya);
    }
    return loss;
  }

  EvalMetrics EvaluateImpl() {
    EvalMetrics m = CleanMetrics();
    for (double eps : plan_.evaluation.robust_eps) {
      char name[64];
      std::snprintf(name, sizeof name, "robust_accuracy_eps%.4f", eps);
      m.robust[name] = RobustAccuracy(eps);
    }
    return m;
  }

  // Accuracy on PGD-K samples at radius eps (step 2.5 eps / K, random start).
  double RobustAccuracy(double eps) {
    net_->eval();
    const int64_t n = test_y_.size(0);
    if (n == 0) return std::nan("");
    const int64_t k = plan_.evaluation.robust_steps;
    const PgdOptions o{eps, 2.5 * eps / static_cast<double>(k), k, true, lo_, hi_};
    int64_t correct = 0;
    constexpr int64_t kBatch = 256;
    for (int64_t off = 0; off < n; off += kBatch) {
      const torch::Tensor x = test_x_.slice(0, off, std::min(n, off + kBatch));
      const torch::Tensor y = test_y_.slice(0, off, std::min(n, off + kBatch));
      const torch::Tensor adv = PgdAttack(*net_, x, y, o);
      torch::NoGradGuard no_grad;
      correct += net_->forward(adv).argmax(1).eq(y).sum().item<int64_t>();
    }
    return static_cast<double>(correct) / static_cast<double>(n);
  }

  EvalMetrics CleanMetrics() {
    torch::NoGradGuard no_grad;
    net_->eval();
    const int64_t n = test_y_.size(0);
    EvalMetrics m;
    m.samples = n;
    if (n == 0) return m;
    std::vector<float> probs;
    probs.reserve(static_cast<size_t>(n * num_classes_));
    double loss_sum = 0;
    int64_t correct = 0;
    constexpr int64_t kBatch = 1024;
    for (int64_t off = 0; off < n; off += kBatch) {
      const torch::Tensor x = test_x_.slice(0, off, std::min(n, off + kBatch));
      const torch::Tensor y = test_y_.slice(0, off, std::min(n, off + kBatch));
      const torch::Tensor logits = net_->forward(x);
      loss_sum += torch::nn::functional::cross_entropy(
                      logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                      .item<double>();
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      const torch::Tensor p = torch::softmax(logits, 1).to(torch::kCPU).contiguous();
      probs.insert(probs.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
    const torch::Tensor labels_cpu = test_y_.to(torch::kCPU).contiguous();
    std::vector<int64_t> labels(labels_cpu.data_ptr<int64_t>(), labels_cpu.data_ptr<int64_t>() + n);
    m.loss = loss_sum / static_cast<double>(n);
    m.accuracy = static_cast<double>(correct) / static_cast<double>(n);
    m.auroc = MacroAuroc(probs, labels, num_classes_);
    return m;
  }

  Plan plan_;
  std::shared_ptr<models::Net> net_;
  torch::Device device_;
  uint64_t seed_;
  int64_t num_classes_;
  uint64_t calls_ = 0;
  torch::Tensor train_x_, train_y_, test_x_, test_y_;
  double lo_ = 0, hi_ = 1;
};

}  // namespace

StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const Plan& plan, data::Split data, const DeviceOptions& device,
                                                   uint64_t seed) {
  if (device.threads > 0) torch::set_num_threads(device.threads);
  FL_ASSIGN_OR_RETURN(torch::Device dev, ResolveDevice(device));
  if (data.train.size() == 0) return InvalidArgument("the training split is empty");
  if (data.test.size() > 0 && data.test.sample_shape != data.train.sample_shape) {
    return InvalidArgument("train and test samples have different shapes");
  }
  const int64_t classes = std::max(data.train.num_classes, data.test.num_classes);
  data.train.num_classes = data.test.num_classes = classes;
  FL_ASSIGN_OR_RETURN(std::shared_ptr<models::Net> net, models::BuildModel(plan.model, data.train.sample_shape, classes));
  try {
    return std::unique_ptr<Trainer>(new TorchTrainer(plan, std::move(net), std::move(data), dev, seed));
  } catch (const c10::Error& e) {
    return Internal(std::string("cannot place the model and data on ") + dev.str() + ": " + e.what_without_backtrace());
  }
}

}  // namespace fl::worker
