// Segmentation on the worker: the U-Net, Dice/IoU scoring per case, training that learns,
// robust Dice, prediction, augmentation that keeps image and mask aligned, the learning-
// rate schedule, FedProx, and the progress line.
#include <torch/torch.h>

#include <cmath>

#include "fl/models/registry.h"
#include "fl/config_reader.h"
#include "options.h"
#include "training/augment.h"
#include "training/metrics.h"
#include "training/progress.h"
#include "training/trainer.h"

// LibTorch's logging header defines a CHECK macro of its own; Catch2's must win here.
#undef CHECK
#include <catch2/catch.hpp>

using namespace fl;
using namespace fl::worker;

namespace {

// Images with one bright disc on a noisy background; the mask is the disc. `cases` groups
// consecutive images in threes, like slices of a volume.
data::Dataset Discs(int n, int h, int w, uint64_t seed) {
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
    const double cy = 4 + next() * (h - 8), cx = 4 + next() * (w - 8), r = 2 + next() * 3;
    bool any = false;
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const bool in = (y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r;
        d.features.push_back(static_cast<float>((in ? 0.7 : 0.2) + 0.1 * next()));
        d.masks.push_back(in ? 1 : 0);
        any = any || in;
      }
    }
    d.labels.push_back(any ? 1 : 0);
    d.cases.push_back(i / 3);
  }
  return d;
}

Plan UNetPlan() {
  Plan p;
  p.model.name = "unet";
  p.model.channels = 4;
  p.model.depth = 3;
  p.training.learning_rate = 0.01;
  p.training.batch_size = 8;
  p.training.epochs = 1;
  return p;
}

}  // namespace

TEST_CASE("unet: per-pixel logits for any input size", "[segmentation]") {
  ModelPlan mp;
  mp.name = "unet";
  mp.channels = 4;
  mp.depth = 3;
  for (auto shape : {std::vector<int64_t>{1, 16, 16}, {3, 13, 21}}) {
    auto net = models::BuildModel(mp, shape, 2);
    REQUIRE(net.ok());
    torch::NoGradGuard g;
    const torch::Tensor y = (*net)->forward(torch::rand({2, shape[0], shape[1], shape[2]}));
    CHECK(y.sizes() == torch::IntArrayRef({2, 2, shape[1], shape[2]}));
  }
  CHECK(models::IsSegmentationModel("unet"));
  CHECK_FALSE(models::IsSegmentationModel("resnet"));
}

TEST_CASE("segmentation scorer: Dice and IoU per case", "[segmentation]") {
  SegmentationScorer s(2);
  // Case 0, split over two slices: predicted 2 pixels, truth 2, overlap 1 -> Dice 0.5, IoU 1/3.
  const uint8_t p1[] = {1, 0, 0, 0}, t1[] = {1, 1, 0, 0};
  const uint8_t p2[] = {0, 0, 1, 0}, t2[] = {0, 0, 0, 0};
  s.Add(p1, t1, 4, 0);
  s.Add(p2, t2, 4, 0);
  // Case 1: perfect.
  const uint8_t p3[] = {0, 1, 1, 0};
  s.Add(p3, p3, 4, 1);
  CHECK(s.cases() == 2);
  CHECK(s.MeanDice() == Approx((0.5 + 1.0) / 2));
  CHECK(s.MeanIoU() == Approx((1.0 / 3 + 1.0) / 2));
  // Empty truth and empty prediction count as a perfect case.
  SegmentationScorer e(2);
  const uint8_t z[] = {0, 0};
  e.Add(z, z, 2, 7);
  CHECK(e.MeanDice() == 1.0);
  CHECK(std::isnan(SegmentationScorer(2).MeanDice()));
}

TEST_CASE("trainer: a U-Net learns to segment discs, robust Dice and predicted masks", "[segmentation]") {
  torch::set_num_threads(2);
  data::Split split{Discs(96, 16, 16, 1), Discs(24, 16, 16, 2)};
  const data::Dataset test = split.test;
  Plan plan = UNetPlan();
  plan.evaluation.robust_eps = {0.05};
  plan.evaluation.robust_steps = 3;
  auto t = Trainer::Create(plan, split, DeviceOptions{"cpu", 0}, 5);
  REQUIRE(t.ok());
  CHECK((*t)->segmentation());
  auto before = (*t)->Evaluate();
  REQUIRE(before.ok());
  for (int r = 0; r < 6; ++r) REQUIRE((*t)->Train(r).ok());
  auto after = (*t)->Evaluate();
  REQUIRE(after.ok());
  INFO("dice before " << before->dice << " after " << after->dice);
  CHECK(after->dice > 0.8);
  CHECK(after->dice > before->dice);
  CHECK(after->iou <= after->dice);
  CHECK(std::isnan(after->auroc));
  REQUIRE(after->robust.count("robust_dice_eps0.0500") == 1);
  CHECK(after->robust.at("robust_dice_eps0.0500") <= after->dice + 1e-9);

  auto masks = (*t)->PredictMasks(test);
  REQUIRE(masks.ok());
  CHECK(masks->size() == test.masks.size());
  SegmentationScorer s(2);
  for (size_t i = 0; i < test.size(); ++i) s.Add(masks->data() + i * 256, test.masks.data() + i * 256, 256, test.cases[i]);
  CHECK(s.MeanDice() == Approx(after->dice).epsilon(1e-6));
  // Per-pixel class probabilities, N x K x H x W, whose argmax is the mask.
  auto probs = (*t)->PredictProbabilities(test);
  REQUIRE(probs.ok());
  REQUIRE(probs->size() == test.size() * 2 * 256);
  size_t agree = 0;
  for (size_t i = 0; i < test.size(); ++i) {
    for (size_t p = 0; p < 256; ++p) {
      const float p0 = (*probs)[i * 512 + p], p1 = (*probs)[i * 512 + 256 + p];
      CHECK(p0 + p1 == Approx(1.0f).epsilon(1e-5));
      agree += ((p1 > p0) == ((*masks)[i * 256 + p] == 1)) ? 1 : 0;
    }
  }
  CHECK(agree == test.size() * 256);
  // Any image size works with the training channel count; another channel count or a
  // sample buffer that does not match its shape is an error.
  data::Dataset other = test;
  other.sample_shape = {1, 8, 32};
  auto wide = (*t)->PredictMasks(other);
  REQUIRE(wide.ok());
  CHECK(wide->size() == test.size() * 256);
  data::Dataset wrong = test;
  wrong.sample_shape = {2, 16, 8};
  CHECK_FALSE((*t)->PredictMasks(wrong).ok());
  wrong.sample_shape = {1, 16, 32};
  CHECK_FALSE((*t)->PredictMasks(wrong).ok());
}

TEST_CASE("trainer: model and data kinds must match", "[segmentation]") {
  data::Split seg{Discs(6, 8, 8, 1), Discs(3, 8, 8, 2)};
  Plan p = UNetPlan();
  p.model.name = "cnn";
  auto t = Trainer::Create(p, seg, DeviceOptions{"cpu", 0}, 1);
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message().find("unet") != std::string::npos);
  data::Split cls = seg;
  for (auto* d : {&cls.train, &cls.test}) d->masks.clear(), d->mask_shape.clear();
  auto u = Trainer::Create(UNetPlan(), cls, DeviceOptions{"cpu", 0}, 1);
  REQUIRE_FALSE(u.ok());
  CHECK(u.status().message().find("no masks") != std::string::npos);
}

TEST_CASE("trainer: steps per round, reproducible augmentation and FedProx", "[segmentation]") {
  data::Split split{Discs(40, 12, 12, 3), Discs(6, 12, 12, 4)};
  Plan p = UNetPlan();
  p.training.steps = 3;
  p.augmentation.probability = 1.0;
  p.augmentation.elastic_alpha = 2.0;
  p.augmentation.noise_std = 0.05;
  auto a = Trainer::Create(p, split, DeviceOptions{"cpu", 0}, 9);
  auto b = Trainer::Create(p, split, DeviceOptions{"cpu", 0}, 9);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto sa = (*a)->Train(0);
  auto sb = (*b)->Train(0);
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  CHECK(sa->samples == 3 * 8);
  CHECK((*a)->Parameters() == (*b)->Parameters());

  // Data order and augmentation depend on the round, not on how many rounds this process
  // has trained: a worker that restarts and rejoins at round 2 (b, from the same global
  // model) trains exactly as one that was there all along (a), and unlike a replay of round 0.
  auto c = Trainer::Create(p, split, DeviceOptions{"cpu", 0}, 9);
  REQUIRE(c.ok());
  REQUIRE((*a)->Train(1).ok());
  const std::vector<float> global = (*a)->Parameters();
  REQUIRE((*b)->SetParameters(global).ok());
  REQUIRE((*c)->SetParameters(global).ok());
  REQUIRE((*a)->Train(2).ok());
  REQUIRE((*b)->Train(2).ok());
  REQUIRE((*c)->Train(0).ok());
  CHECK((*a)->Parameters() == (*b)->Parameters());
  CHECK((*c)->Parameters() != (*a)->Parameters());

  // A strong proximal term keeps the local model closer to where it started.
  auto distance = [&](double mu) {
    Plan q = UNetPlan();
    q.training.epochs = 2;
    q.training.proximal_mu = mu;
    auto t = Trainer::Create(q, split, DeviceOptions{"cpu", 0}, 9);
    REQUIRE(t.ok());
    const std::vector<float> w0 = (*t)->Parameters();
    REQUIRE((*t)->Train(0).ok());
    const std::vector<float> w1 = (*t)->Parameters();
    double d = 0;
    for (size_t i = 0; i < w0.size(); ++i) d += (w1[i] - w0[i]) * (w1[i] - w0[i]);
    return std::sqrt(d);
  };
  CHECK(distance(100.0) < 0.5 * distance(0.0));
}

TEST_CASE("augmentation: image and mask move together, untouched samples stay exact", "[segmentation]") {
  torch::manual_seed(11);
  // A bright square with the same square as its mask.
  torch::Tensor x = torch::zeros({6, 1, 20, 20});
  x.slice(2, 4, 10).slice(3, 5, 12).fill_(1.0);
  torch::Tensor m = (x.squeeze(1) > 0.5).to(torch::kUInt8);
  AugmentationPlan a;
  a.probability = 1.0;
  a.rotation_deg = 40;
  a.elastic_alpha = 1.5;
  a.noise_std = 0;
  Augmented out = Augment(a, x, m, 0.0, 1.0);
  REQUIRE(out.x.sizes() == x.sizes());
  REQUIRE(out.mask.sizes() == m.sizes());
  CHECK(out.mask.scalar_type() == torch::kUInt8);
  CHECK(!torch::equal(out.x, x));
  // Where the mask says foreground the image is bright, and vice versa, almost everywhere.
  const torch::Tensor bright = out.x.squeeze(1) > 0.5;
  const double agree = bright.eq(out.mask.to(torch::kBool)).to(torch::kFloat).mean().item<double>();
  CHECK(agree > 0.97);

  // Probability 0: the batch is returned unchanged; noise stays in the valid range.
  a.probability = 0;
  CHECK(torch::equal(Augment(a, x, m, 0, 1).x, x));
  a.probability = 1.0;
  a.rotation_deg = 0;
  a.flip = false;
  a.elastic_alpha = 0;
  a.noise_std = 0.5;
  const torch::Tensor noisy = Augment(a, x, torch::Tensor(), 0.0, 1.0).x;
  CHECK(noisy.min().item<float>() >= 0.0f);
  CHECK(noisy.max().item<float>() <= 1.0f);
  CHECK(!torch::equal(noisy, x));

  // A flip alone mirrors the image exactly.
  a.noise_std = 0;
  a.flip = true;
  torch::manual_seed(1);
  const torch::Tensor one = torch::rand({1, 1, 5, 7});
  bool saw_flip = false;
  for (int i = 0; i < 10 && !saw_flip; ++i) {
    const torch::Tensor f = Augment(a, one, torch::Tensor(), 0, 1).x;
    if (torch::allclose(f, one.flip({3}), 1e-5, 1e-6)) saw_flip = true;
    else CHECK(torch::allclose(f, one, 1e-5, 1e-6));
  }
  CHECK(saw_flip);
}

TEST_CASE("plan: learning-rate schedules", "[plan]") {
  TrainingPlan t;
  t.learning_rate = 0.1;
  CHECK(LearningRateAt(t, 5) == 0.1);
  t.lr_schedule = "cosine";
  t.schedule_rounds = 10;
  t.min_learning_rate = 0.01;
  CHECK(LearningRateAt(t, 0) == Approx(0.1));
  CHECK(LearningRateAt(t, 5) == Approx(0.055));
  CHECK(LearningRateAt(t, 10) == Approx(0.01));
  CHECK(LearningRateAt(t, 50) == Approx(0.01));
  t.lr_schedule = "step";
  t.schedule_rounds = 3;
  t.lr_gamma = 0.5;
  CHECK(LearningRateAt(t, 2) == Approx(0.1));
  CHECK(LearningRateAt(t, 3) == Approx(0.05));
  CHECK(LearningRateAt(t, 7) == Approx(0.025));
}

TEST_CASE("progress: status line with rate and ETA", "[progress]") {
  const std::string line = Progress::Format("round 2 training", 50, 200, 10.0, 0.25, 10);
  CHECK(line == "round 2 training [##........] 50/200 samples, 5.0 samples/s, ETA 0:30, loss 0.2500");
  CHECK(Progress::Format("r", 0, 10, 0.0, 1.0, 0) == "r 0/10 samples, 0.0 samples/s, ETA 0:00, loss 1.0000");
}

TEST_CASE("worker options: image and NIfTI data sections", "[segmentation][config]") {
  auto parse = [](const char* text) { return ParseWorkerOptions(nlohmann::json::parse(text), "w.json"); };
  auto ok = parse(R"({"name": "a", "data": {"format": "nifti", "path": "/v",
      "nifti": {"train_list": "t.list", "test_list": "s.list", "crop": [96, 80], "spacing": [1, 1, 2],
                "zscore": true, "slice_stride": 2}}})");
  REQUIRE(ok.ok());
  CHECK(ok->data.nifti.dir == "/v");
  CHECK(ok->data.nifti.crop == std::vector<int64_t>{96, 80});
  CHECK(ok->data.nifti.spacing == std::vector<double>{1, 1, 2});
  CHECK(ok->data.nifti.slice_stride == 2);
  CHECK(ok->data.nifti.zscore);
  auto img = parse(R"({"name": "a", "data": {"format": "images", "path": "/tr",
      "images": {"test_dir": "/te", "channels": 1, "height": 64, "width": 48}}})");
  REQUIRE(img.ok());
  CHECK(img->data.images.train_dir == "/tr");
  CHECK(img->data.images.folder.channels == 1);
  CHECK(img->data.images.folder.width == 48);

  auto error = [&](const char* text, const std::string& needle) {
    auto r = parse(text);
    REQUIRE_FALSE(r.ok());
    INFO(r.status().message());
    CHECK(r.status().message().find(needle) != std::string::npos);
  };
  error(R"({"name": "a", "data": {"format": "nifti", "path": "/v"}})", "data.nifti.train_list");
  error(R"({"name": "a", "data": {"format": "nifti", "path": "/v", "nifti": {"train_list": "t", "crop": [96.5]}}})",
        "data.nifti.crop");
  error(R"({"name": "a", "data": {"format": "nifti", "path": "/v", "nifti": {"train_list": "t", "spacing": [1, 1]}}})",
        "data.nifti.spacing");
  error(R"({"name": "a", "data": {"format": "images", "path": "/v", "images": {"height": 64}}})", "data.images.height");
  error(R"({"name": "a", "data": {"format": "images", "path": "/v", "images": {"channels": 2}}})", "data.images.channels");
  error(R"({"name": "a", "data": {"format": "images", "path": "/v", "images": {"colour": 2}}})", "data.images.colour");
}

TEST_CASE("worker options: the imaging example configs parse", "[segmentation][config]") {
  for (const char* name : {"worker-left-atrium.json", "worker-polyps.json"}) {
    auto j = ParseJsonFile(std::string(FL_SOURCE_DIR) + "/configs/" + name);
    REQUIRE(j.ok());
    auto o = ParseWorkerOptions(*j, name);
    INFO(name << ": " << (o.ok() ? "" : o.status().message()));
    REQUIRE(o.ok());
    CHECK((o->data.format == "nifti" || o->data.format == "images"));
  }
  // The experiments' plans parse and build their models (the 3-D plan on volume shapes).
  for (const char* name : {"pneumonia-plan.json", "pneumonia-pgd-plan.json", "left-atrium-plan.json",
                           "left-atrium-3d-plan.json", "polyps-plan.json"}) {
    auto j = ParseJsonFile(std::string(FL_SOURCE_DIR) + "/configs/experiments/" + name);
    REQUIRE(j.ok());
    auto plan = ParsePlan(*j, name);
    INFO(name << ": " << (plan.ok() ? "" : plan.status().message()));
    REQUIRE(plan.ok());
    const bool seg = models::IsSegmentationModel(plan->model.name);
    const std::vector<int64_t> shape = std::string(name) == "left-atrium-3d-plan.json" ? std::vector<int64_t>{1, 8, 8, 8}
                                       : seg                                         ? std::vector<int64_t>{3, 16, 16}
                                                                                     : std::vector<int64_t>{1, 28, 28};
    CHECK(models::BuildModel(plan->model, shape, 2).ok());
  }
}
