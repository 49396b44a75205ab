// Decoupled prediction (personalization "decoupled"): the decoupled U-Net's parts and
// names, row-stochastic adaptation matrices that start at the identity, the loss terms,
// and training through the trainer with the adaptation network kept personal.
#include <torch/torch.h>

#include "fl/models/decoupled.h"
#include "mem_env.h"
#include "training/personalized_trainer.h"
#include "training/trainer.h"

// LibTorch's logging header defines a CHECK macro of its own; Catch2's must win here.
#undef CHECK
#include <catch2/catch.hpp>

using namespace fl;
using namespace fl::worker;

namespace {

// Bright discs on a noisy background; the label is the disc grown by `grow` pixels (a centre
// that annotates generously).
data::Dataset Discs(int n, uint64_t seed, double grow) {
  const int h = 16, w = 16;
  data::Dataset d;
  d.sample_shape = {1, h, w};
  d.mask_shape = {h, w};
  d.num_classes = 2;
  uint64_t s = seed;
  auto next = [&s]() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < n; ++i) {
    const double cy = 5 + next() * 6, cx = 5 + next() * 6, r = 2 + next() * 2;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
        d.features.push_back(static_cast<float>((d2 <= r * r ? 0.7 : 0.2) + 0.1 * next()));
        d.masks.push_back(d2 <= (r + grow) * (r + grow) ? 1 : 0);
      }
    }
    d.labels.push_back(1);
    d.cases.push_back(i);
  }
  return d;
}

Plan DecoupledPlan() {
  Plan p;
  p.model.name = "unet";
  p.model.channels = 4;
  p.model.depth = 3;
  p.training.learning_rate = 0.01;
  p.training.batch_size = 8;
  p.training.epochs = 2;
  p.personalization.method = "decoupled";
  return p;
}

std::shared_ptr<models::DecoupledNet> Net() {
  auto net = models::BuildDecoupledUNet(DecoupledPlan().model, {}, {1, 16, 16}, 2);
  REQUIRE(net.ok());
  return *net;
}

}  // namespace

TEST_CASE("decoupled U-Net: shared parts, a personal adaptation network, W starts at the identity") {
  auto net = Net();
  std::set<std::string> parts;
  for (const auto& p : net->named_parameters()) parts.insert(p.key().substr(0, p.key().find('.')));
  CHECK(parts == std::set<std::string>{"unet", "comb", "prior", "posterior", "dan"});
  const auto roles = models::Roles(*net);
  size_t i = 0;
  for (const auto& p : net->named_parameters()) {
    CHECK(roles[i++].adaptation == (p.key().rfind("dan.", 0) == 0));
  }
  torch::manual_seed(1);
  const torch::Tensor x = torch::rand({3, 1, 16, 16});
  net->eval();
  const torch::Tensor w = net->Adaptation(x);
  REQUIRE(w.sizes() == torch::IntArrayRef({3, 2, 2, 16, 16}));
  CHECK(torch::allclose(w.sum(2), torch::ones({3, 2, 16, 16}), 1e-5, 1e-5));
  CHECK(w.diagonal(0, 1, 2).min().item<double>() > 0.95);
  // The local prediction is a distribution per pixel; the generic one gives logits.
  const torch::Tensor local = net->forward(x);
  CHECK(torch::allclose(local.exp().sum(1), torch::ones({3, 16, 16}), 1e-4, 1e-4));
  net->set_local_prediction(false);
  CHECK(net->forward(x).sizes() == torch::IntArrayRef({3, 2, 16, 16}));
  // 2-D U-Net only.
  ModelPlan cnn;
  cnn.name = "cnn";
  CHECK_FALSE(models::BuildDecoupledUNet(cnn, {}, {1, 16, 16}, 2).ok());
  CHECK_FALSE(models::BuildDecoupledUNet(DecoupledPlan().model, {}, {1, 8, 16, 16}, 2).ok());
}

TEST_CASE("decoupled U-Net: the loss is the local cross-entropy and Dice, L_q, alpha trace(W) and beta KL") {
  auto net = Net();
  net->train();
  torch::manual_seed(2);
  const torch::Tensor x = torch::rand({4, 1, 16, 16});
  const torch::Tensor y = (x > 0.5).to(torch::kInt64).squeeze(1);
  const models::DecoupledLoss l = net->Loss(x, y);
  for (const torch::Tensor* t : {&l.total, &l.local_ce, &l.local_dice, &l.lq, &l.trace, &l.kl}) {
    CHECK(std::isfinite(t->item<double>()));
  }
  CHECK(l.local_dice.item<double>() > 0);
  CHECK(l.local_dice.item<double>() < 1);
  CHECK(l.kl.item<double>() >= 0);
  CHECK(l.trace.item<double>() > 1.9);  // near the identity's 2
  CHECK(l.trace.item<double>() <= 2.0 + 1e-5);
  const double expected = l.local_ce.item<double>() + l.local_dice.item<double>() + l.lq.item<double>() +
                          0.01 * l.trace.item<double>() + 0.01 * l.kl.item<double>();
  CHECK(l.total.item<double>() == Approx(expected).epsilon(1e-5));
  l.total.backward();
  for (const auto& p : net->named_parameters()) {
    if (p.key().rfind("dan.", 0) == 0 || p.key().rfind("comb.", 0) == 0) CHECK(p.value().grad().defined());
  }
}

TEST_CASE("decoupled prediction trains through the trainer, with the adaptation network personal") {
  data::Split split{Discs(48, 1, 1.5), Discs(24, 2, 1.5)};
  auto whole = Trainer::Create(DecoupledPlan(), split, DeviceOptions{"cpu", 1}, 1);
  REQUIRE(whole.ok());
  const size_t tensors = (*whole)->Layout().tensors.size();
  testing::MemEnv env;
  auto t = Personalize(std::move(whole).value(), DecoupledPlan(), env, "state/personal-model.safetensors");
  REQUIRE(t.ok());
  const ModelLayout shared = (*t)->Layout();
  CHECK(shared.tensors.size() < tensors);
  for (const auto& info : shared.tensors) CHECK(info.name.rfind("dan.", 0) != 0);
  const auto before = (*t)->Evaluate();
  REQUIRE(before.ok());
  for (int r = 0; r < 4; ++r) REQUIRE((*t)->Train(r).ok());
  const auto local = (*t)->Evaluate();
  REQUIRE(local.ok());
  (*t)->SetLocalPrediction(false);
  const auto generic = (*t)->Evaluate();
  REQUIRE(generic.ok());
  INFO("Dice before " << before->dice << ", local " << local->dice << ", generic " << generic->dice);
  CHECK(local->dice > before->dice);
  CHECK(local->dice > 0.6);
  CHECK(local->loss != generic->loss);
  CHECK(env.FileExists("state/personal-model.safetensors"));
}

TEST_CASE("decoupled prediction trains with PGD adversarial copies") {
  Plan plan = DecoupledPlan();
  plan.adversarial.enabled = true;
  plan.adversarial.eps = 4.0 / 255;
  plan.adversarial.alpha = 2.0 / 255;
  plan.adversarial.steps = 2;
  plan.training.epochs = 1;
  data::Split split{Discs(16, 3, 1.0), Discs(8, 4, 1.0)};
  auto t = Trainer::Create(plan, split, DeviceOptions{"cpu", 1}, 1);
  REQUIRE(t.ok());
  const std::vector<float> before = (*t)->Parameters();
  auto stats = (*t)->Train(0);
  REQUIRE(stats.ok());
  CHECK(std::isfinite(stats->train_loss));
  CHECK((*t)->Parameters() != before);
}
