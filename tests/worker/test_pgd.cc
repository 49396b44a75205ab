// PGD adversarial examples: within the eps-ball and the valid range, loss-increasing,
// driven by non-zero input gradients; adversarial training and robust accuracy through
// the trainer.
#include <torch/torch.h>

#include "fl/models/registry.h"
#include "training/pgd.h"
#include "training/trainer.h"

// LibTorch's logging header defines a CHECK macro of its own; Catch2's must win here.
#undef CHECK
#include <catch2/catch.hpp>

using namespace fl;
using namespace fl::worker;

namespace {

std::shared_ptr<models::Net> SmallCnn() {
  ModelPlan mp;
  mp.name = "cnn";
  mp.channels = 4;
  auto net = models::BuildModel(mp, {1, 12, 12}, 2);
  REQUIRE(net.ok());
  return *net;
}

// Images in [0, 1] whose label is whether the left half is brighter.
void MakeImages(int64_t n, torch::Tensor* x, torch::Tensor* y) {
  torch::manual_seed(3);
  *x = torch::rand({n, 1, 12, 12});
  *y = (x->slice(3, 0, 6).mean({1, 2, 3}) > x->slice(3, 6, 12).mean({1, 2, 3})).to(torch::kInt64);
}

double Loss(models::Net& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard g;
  return torch::nn::functional::cross_entropy(net.forward(x), y).item<double>();
}

}  // namespace

TEST_CASE("pgd: stays in the eps-ball and the valid range, and raises the loss", "[pgd]") {
  auto net = SmallCnn();
  net->eval();
  torch::Tensor x, y;
  MakeImages(64, &x, &y);
  for (double eps : {1.0 / 255, 4.0 / 255, 16.0 / 255}) {
    CAPTURE(eps);
    PgdOptions o{eps, eps / 4, 10, true, 0.0, 1.0};
    const torch::Tensor adv = PgdAttack(*net, x, y, o);
    CHECK(adv.sizes() == x.sizes());
    CHECK((adv - x).abs().max().item<double>() <= eps + 1e-6);
    CHECK(adv.min().item<double>() >= 0.0);
    CHECK(adv.max().item<double>() <= 1.0);
    CHECK(Loss(*net, adv, y) > Loss(*net, x, y));
  }
}

TEST_CASE("pgd: input gradients are non-zero and parameters are untouched", "[pgd]") {
  auto net = SmallCnn();
  torch::Tensor x, y;
  MakeImages(16, &x, &y);
  torch::Tensor xg = x.clone().requires_grad_(true);
  const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(xg), y);
  const torch::Tensor g = torch::autograd::grad({loss}, {xg})[0];
  CHECK(g.abs().sum().item<double>() > 0);
  CHECK(g.ne(0).sum().item<int64_t>() > g.numel() / 2);

  const std::vector<float> before = models::Flatten(*net);
  (void)PgdAttack(*net, x, y, PgdOptions{});
  CHECK(models::Flatten(*net) == before);
  for (const auto& p : net->parameters()) {
    CHECK(p.requires_grad());
    CHECK_FALSE(p.grad().defined());
  }
}

TEST_CASE("pgd: one step without random start is FGSM", "[pgd]") {
  auto net = SmallCnn();
  net->eval();
  torch::Tensor x, y;
  MakeImages(8, &x, &y);
  const double eps = 8.0 / 255;
  torch::Tensor xg = x.clone().requires_grad_(true);
  const torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(xg), y);
  const torch::Tensor g = torch::autograd::grad({loss}, {xg})[0];
  const torch::Tensor fgsm = (x + eps * g.sign()).clamp(0, 1);
  const torch::Tensor adv = PgdAttack(*net, x, y, PgdOptions{eps, eps, 1, false, 0.0, 1.0});
  CHECK((adv - fgsm).abs().max().item<double>() < 1e-6);
}

TEST_CASE("pgd: adversarial training runs and reports robust accuracy", "[pgd]") {
  data::Split s;
  for (data::Dataset* d : {&s.train, &s.test}) {
    torch::Tensor x, y;
    MakeImages(96, &x, &y);
    d->sample_shape = {1, 12, 12};
    d->num_classes = 2;
    d->features.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
    d->labels.assign(y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + y.numel());
  }
  Plan plan;
  plan.model.name = "cnn";
  plan.model.channels = 4;
  plan.training.epochs = 2;
  plan.adversarial.enabled = true;
  plan.adversarial.eps = 4.0 / 255;
  plan.adversarial.alpha = 1.0 / 255;
  plan.adversarial.steps = 3;
  plan.evaluation.robust_eps = {2.0 / 255, 4.0 / 255};
  plan.evaluation.robust_steps = 5;
  auto t = Trainer::Create(plan, s, DeviceOptions{"cpu", 1}, 1);
  REQUIRE(t.ok());
  auto stats = (*t)->Train(0);
  REQUIRE(stats.ok());
  CHECK(std::isfinite(stats->train_loss));
  auto eval = (*t)->Evaluate();
  REQUIRE(eval.ok());
  REQUIRE(eval->robust.size() == 2);
  const double r2 = eval->robust.at("robust_accuracy_eps0.0078");
  const double r4 = eval->robust.at("robust_accuracy_eps0.0157");
  CHECK(r2 >= 0.0);
  CHECK(r2 <= 1.0);
  CHECK(r4 <= r2 + 0.05);  // a larger radius cannot help much
  CHECK(r2 <= eval->accuracy + 0.05);
}

TEST_CASE("models: the ResNet takes grayscale or RGB images of any size", "[models]") {
  ModelPlan mp;
  mp.name = "resnet";
  mp.channels = 8;
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{1, 28, 28}, std::vector<int64_t>{3, 64, 48}}) {
    auto net = models::BuildModel(mp, shape, 3);
    REQUIRE(net.ok());
    std::vector<int64_t> batch = {2};
    batch.insert(batch.end(), shape.begin(), shape.end());
    const torch::Tensor out = (*net)->forward(torch::rand(batch));
    CHECK(out.sizes() == torch::IntArrayRef({2, 3}));
    const ModelLayout layout = models::Layout(**net);
    CHECK(layout.tensors.front().name == "stem.weight");
    CHECK(layout.dimension() == models::Flatten(**net).size());
  }
  auto table = models::BuildModel(mp, {30}, 2);
  CHECK_FALSE(table.ok());
}
