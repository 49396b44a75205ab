// 3-D segmentation on the worker: the U-Net on volumes, training that learns on synthetic
// balls, per-volume Dice, PGD within eps on volumes, in-plane augmentation of volumes, and
// the nifti "volumes" mode of the worker config.
#include <torch/torch.h>

#include <cmath>

#include "fl/config_reader.h"
#include "fl/models/registry.h"
#include "options.h"
#include "training/augment.h"
#include "training/metrics.h"
#include "training/pgd.h"
#include "training/trainer.h"

// LibTorch's logging header defines a CHECK macro of its own; Catch2's must win here.
#undef CHECK
#include <catch2/catch.hpp>

using namespace fl;
using namespace fl::worker;

namespace {

// Volumes {1, d, h, w} with one bright ball on a noisy background; the mask is the ball.
data::Dataset Balls(int n, int d, int h, int w, uint64_t seed) {
  data::Dataset ds;
  ds.sample_shape = {1, d, h, w};
  ds.mask_shape = {d, h, w};
  ds.num_classes = 2;
  uint64_t s = seed;
  auto next = [&s]() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(s >> 11) / 9007199254740992.0;
  };
  for (int i = 0; i < n; ++i) {
    const double cz = 3 + next() * (d - 6), cy = 3 + next() * (h - 6), cx = 3 + next() * (w - 6), r = 2 + next() * 1.5;
    for (int z = 0; z < d; ++z) {
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const bool in = (z - cz) * (z - cz) + (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r;
          ds.features.push_back(static_cast<float>((in ? 0.7 : 0.2) + 0.1 * next()));
          ds.masks.push_back(in ? 1 : 0);
        }
      }
    }
    ds.labels.push_back(1);
  }
  return ds;
}

Plan UNet3dPlan() {
  Plan p;
  p.model.name = "unet";
  p.model.channels = 4;
  p.model.depth = 2;
  p.training.learning_rate = 0.02;
  p.training.batch_size = 4;
  p.training.epochs = 1;
  return p;
}

}  // namespace

TEST_CASE("unet: 3-D logits for volumes of any size", "[volumes3d]") {
  ModelPlan mp;
  mp.name = "unet";
  mp.channels = 4;
  mp.depth = 3;
  for (auto shape : {std::vector<int64_t>{1, 8, 8, 8}, {2, 5, 9, 7}}) {
    auto net = models::BuildModel(mp, shape, 3);
    REQUIRE(net.ok());
    torch::NoGradGuard g;
    const torch::Tensor y = (*net)->forward(torch::rand({2, shape[0], shape[1], shape[2], shape[3]}));
    CHECK(y.sizes() == torch::IntArrayRef({2, 3, shape[1], shape[2], shape[3]}));
  }
  // The 3-D network has 3x3x3 kernels; the 2-D one keeps its parameter names and shapes.
  auto three = models::BuildModel(mp, {1, 8, 8, 8}, 2);
  auto two = models::BuildModel(mp, {1, 8, 8}, 2);
  REQUIRE(three.ok());
  REQUIRE(two.ok());
  const ModelLayout l3 = models::Layout(**three), l2 = models::Layout(**two);
  REQUIRE(l3.tensors.size() == l2.tensors.size());
  CHECK(l3.tensors.front().name == "down.0.seq.0.weight");
  CHECK(l2.tensors.front().name == "down.0.seq.0.weight");
  CHECK(l3.tensors.front().shape == std::vector<uint64_t>{4, 1, 3, 3, 3});
  CHECK(l2.tensors.front().shape == std::vector<uint64_t>{4, 1, 3, 3});
  // Other models still need images.
  mp.name = "resnet";
  CHECK_FALSE(models::BuildModel(mp, {1, 8, 8, 8}, 2).ok());
}

TEST_CASE("trainer: a 3-D U-Net learns to segment balls, Dice per volume", "[volumes3d]") {
  torch::set_num_threads(2);
  data::Split split{Balls(24, 12, 12, 12, 1), Balls(6, 12, 12, 12, 2)};
  const data::Dataset test = split.test;
  Plan plan = UNet3dPlan();
  plan.evaluation.robust_eps = {0.05};
  plan.evaluation.robust_steps = 2;
  auto t = Trainer::Create(plan, split, DeviceOptions{"cpu", 0}, 5);
  REQUIRE(t.ok());
  auto before = (*t)->Evaluate();
  REQUIRE(before.ok());
  for (int r = 0; r < 8; ++r) REQUIRE((*t)->Train(r).ok());
  auto after = (*t)->Evaluate();
  REQUIRE(after.ok());
  INFO("dice before " << before->dice << " after " << after->dice);
  CHECK(after->dice > 0.7);
  CHECK(after->dice > before->dice);
  CHECK(after->robust.at("robust_dice_eps0.0500") <= after->dice + 1e-9);

  // Predicted masks score the same as the evaluation: one case per volume.
  auto masks = (*t)->PredictMasks(test);
  REQUIRE(masks.ok());
  REQUIRE(masks->size() == test.masks.size());
  SegmentationScorer s(2);
  const int64_t voxels = 12 * 12 * 12;
  for (size_t i = 0; i < test.size(); ++i) {
    s.Add(masks->data() + i * voxels, test.masks.data() + i * voxels, voxels, static_cast<int32_t>(i));
  }
  CHECK(s.cases() == test.size());
  CHECK(s.MeanDice() == Approx(after->dice).epsilon(1e-6));
  // Another volume size works; 2-D slices do not fit a 3-D model.
  data::Dataset other = Balls(1, 8, 16, 10, 3);
  auto other_masks = (*t)->PredictMasks(other);
  REQUIRE(other_masks.ok());
  CHECK(other_masks->size() == other.masks.size());
  data::Dataset slices = test;
  slices.sample_shape = {1, 12, 144};
  slices.mask_shape = {12, 144};
  CHECK_FALSE((*t)->PredictMasks(slices).ok());
}

TEST_CASE("pgd on volumes: within eps and the valid range, loss rises", "[volumes3d][pgd]") {
  ModelPlan mp;
  mp.name = "unet";
  mp.channels = 4;
  mp.depth = 2;
  auto net = models::BuildModel(mp, {1, 6, 8, 8}, 2);
  REQUIRE(net.ok());
  (*net)->eval();
  torch::manual_seed(4);
  const torch::Tensor x = torch::rand({2, 1, 6, 8, 8});
  const torch::Tensor y = (x.squeeze(1) > 0.5).to(torch::kInt64);
  const double eps = 8.0 / 255;
  const torch::Tensor adv = PgdAttack(**net, x, y, PgdOptions{eps, eps / 4, 5, true, 0.0, 1.0});
  CHECK(adv.sizes() == x.sizes());
  CHECK((adv - x).abs().max().item<double>() <= eps + 1e-6);
  CHECK(adv.min().item<double>() >= 0.0);
  CHECK(adv.max().item<double>() <= 1.0);
  torch::NoGradGuard g;
  namespace F = torch::nn::functional;
  CHECK(F::cross_entropy((*net)->forward(adv), y).item<double>() > F::cross_entropy((*net)->forward(x), y).item<double>());
}

TEST_CASE("augmentation of volumes: one in-plane transform per volume, mask follows", "[volumes3d]") {
  torch::manual_seed(12);
  // A bright box through all slices of each volume, with the same box as its mask.
  torch::Tensor x = torch::zeros({3, 1, 4, 20, 20});
  x.slice(3, 4, 10).slice(4, 5, 12).fill_(1.0);
  const torch::Tensor m = (x.squeeze(1) > 0.5).to(torch::kUInt8);
  AugmentationPlan a;
  a.probability = 1.0;
  a.rotation_deg = 40;
  a.elastic_alpha = 1.5;
  Augmented out = Augment(a, x, m, 0.0, 1.0);
  REQUIRE(out.x.sizes() == x.sizes());
  REQUIRE(out.mask.sizes() == m.sizes());
  CHECK(!torch::equal(out.x, x));
  const torch::Tensor bright = out.x.squeeze(1) > 0.5;
  CHECK(bright.eq(out.mask.to(torch::kBool)).to(torch::kFloat).mean().item<double>() > 0.97);
  // Every slice of a volume got the same transform (the input slices were identical).
  for (int64_t z = 1; z < 4; ++z) {
    CHECK(torch::equal(out.mask.select(1, z), out.mask.select(1, 0)));
    CHECK(torch::allclose(out.x.select(2, z), out.x.select(2, 0)));
  }
  // Probability 0 leaves volumes untouched.
  a.probability = 0;
  CHECK(torch::equal(Augment(a, x, m, 0, 1).x, x));
}

TEST_CASE("worker options: nifti volumes mode", "[volumes3d][config]") {
  auto parse = [](const std::string& nifti) {
    const auto j = nlohmann::json::parse(R"({"name": "a", "data": {"format": "nifti", "path": "v",
        "nifti": )" + nifti + R"(}})");
    return ParseWorkerOptions(j, "w.json");
  };
  auto ok = parse(R"({"train_list": "t.list", "mode": "volumes", "crop": [64, 64, 48]})");
  REQUIRE(ok.ok());
  CHECK(ok->data.nifti.volumes);
  auto slices = parse(R"({"train_list": "t.list"})");
  REQUIRE(slices.ok());
  CHECK_FALSE(slices->data.nifti.volumes);
  CHECK_FALSE(parse(R"({"train_list": "t.list", "mode": "volumes", "slice_stride": 2})").ok());
  CHECK_FALSE(parse(R"({"train_list": "t.list", "mode": "volumes", "axis": 1})").ok());
  CHECK_FALSE(parse(R"({"train_list": "t.list", "mode": "cubes"})").ok());
}
