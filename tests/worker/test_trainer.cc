// Worker-side tests: metrics, models, the LibTorch trainer and worker options.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "fl/config_reader.h"
#include "options.h"
#include "training/metrics.h"
#include "training/trainer.h"

using namespace fl;
using namespace fl::worker;

namespace {
const char* kBreastCancer = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";

data::Split BreastCancer() {
  data::CsvOptions o;
  o.path = kBreastCancer;
  o.header = false;
  o.skip_rows = 1;
  o.label_column = "-1";
  o.test_fraction = 0.25;
  auto s = data::LoadCsv(o);
  REQUIRE(s.ok());
  return std::move(s).value();
}

// Two well-separated Gaussian blobs in 2-D.
data::Split Blobs() {
  data::Split s;
  for (data::Dataset* d : {&s.train, &s.test}) {
    d->sample_shape = {2};
    d->num_classes = 2;
    for (int i = 0; i < 200; ++i) {
      const int y = i % 2;
      d->features.push_back((y ? 2.0f : -2.0f) + 0.01f * static_cast<float>(i % 17));
      d->features.push_back((y ? -1.0f : 1.0f) + 0.02f * static_cast<float>(i % 13));
      d->labels.push_back(y);
    }
  }
  return s;
}
}  // namespace

TEST_CASE("metrics: AUROC of perfect, inverted, tied and one-class scores") {
  CHECK(BinaryAuroc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}) == Approx(1.0));
  CHECK(BinaryAuroc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}) == Approx(0.0));
  CHECK(BinaryAuroc({0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1}) == Approx(0.5));
  // NaN scores (a model with NaN weights) have no order: undefined, and no endless loop.
  const float nan = std::nanf("");
  CHECK(std::isnan(BinaryAuroc({nan, 0.2f, nan, 0.9f}, {0, 0, 1, 1})));
  CHECK(std::isnan(BinaryAuroc({nan, nan, nan, nan}, {0, 1, 0, 1})));
  CHECK(BinaryAuroc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) == Approx(0.75));
  CHECK(std::isnan(BinaryAuroc({0.1f, 0.2f}, {1, 1})));
  // Three classes, perfectly separated: macro AUROC 1.
  std::vector<float> probs = {0.8f, 0.1f, 0.1f, 0.1f, 0.8f, 0.1f, 0.1f, 0.1f, 0.8f};
  CHECK(MacroAuroc(probs, {0, 1, 2}, 3) == Approx(1.0));
}

TEST_CASE("trainer: parameters flatten and restore exactly") {
  Plan plan;
  plan.model.name = "mlp";
  plan.model.hidden = {8, 4};
  auto t = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 1);
  REQUIRE(t.ok());
  const ModelLayout layout = (*t)->Layout();
  CHECK(layout.dimension() == 2 * 8 + 8 + 8 * 4 + 4 + 4 * 2 + 2);
  CHECK(layout.tensors.front().name == "fc1.weight");
  std::vector<float> p = (*t)->Parameters();
  REQUIRE(p.size() == layout.dimension());
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(i) * 0.001f;
  REQUIRE((*t)->SetParameters(p).ok());
  CHECK((*t)->Parameters() == p);
  p.pop_back();
  CHECK_FALSE((*t)->SetParameters(p).ok());
}

TEST_CASE("trainer: same init seed gives the same initial model") {
  Plan plan;
  plan.model.name = "logreg";
  auto a = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 1);
  auto b = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 2);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->Parameters() == (*b)->Parameters());
  plan.model.init_seed = 2;
  auto c = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 1);
  CHECK((*a)->Parameters() != (*c)->Parameters());
}

TEST_CASE("trainer: learns separable data and honours cancellation") {
  Plan plan;
  plan.model.name = "mlp";
  plan.training.epochs = 5;
  auto t = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 1);
  REQUIRE(t.ok());
  auto stats = (*t)->Train(0);
  REQUIRE(stats.ok());
  CHECK(stats->samples == 5 * 200);
  auto eval = (*t)->Evaluate();
  REQUIRE(eval.ok());
  CHECK(eval->accuracy == Approx(1.0));
  CHECK(eval->auroc == Approx(1.0));
  std::atomic<bool> cancel{true};
  auto cancelled = (*t)->Train(0, &cancel);
  CHECK(cancelled.status().code() == StatusCode::kAborted);
}

TEST_CASE("trainer: breast-cancer table reaches clinical-grade accuracy") {
  if (!std::filesystem::exists(kBreastCancer)) {
    WARN("skipped: missing " << kBreastCancer);
    return;
  }
  Plan plan;
  plan.model.name = "logreg";
  plan.training.epochs = 20;
  auto t = Trainer::Create(plan, BreastCancer(), DeviceOptions{"cpu", 1}, 1);
  REQUIRE(t.ok());
  auto before = (*t)->Evaluate();
  REQUIRE((*t)->Train(0).ok());
  auto after = (*t)->Evaluate();
  REQUIRE(after.ok());
  CHECK(after->loss < before->loss);
  CHECK(after->accuracy > 0.93);
  CHECK(after->auroc > 0.98);
}

TEST_CASE("trainer: a model that does not fit the data is a clear error") {
  Plan plan;
  plan.model.name = "cnn";
  auto t = Trainer::Create(plan, Blobs(), DeviceOptions{"cpu", 1}, 1);
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.status().message(), Catch::Contains("needs image data"));
  plan.model.name = "mlp";
  auto cuda = Trainer::Create(plan, Blobs(), DeviceOptions{"bogus", 1}, 1);
  CHECK_FALSE(cuda.ok());
}

TEST_CASE("worker options: the example config parses") {
  auto j = ParseJsonFile(std::string(FL_SOURCE_DIR) + "/configs/worker-breast-cancer.json");
  REQUIRE(j.ok());
  auto o = ParseWorkerOptions(*j, "worker-breast-cancer.json");
  REQUIRE(o.ok());
  CHECK(o->name == "hospital-a");
  CHECK(o->data.format == "csv");
  CHECK(o->data.csv.skip_rows == 1);
  CHECK(o->data.csv.partition.weights.size() == 3);
  CHECK(o->min_cohort == 3);
  CHECK(o->min_survivors == 3);
}

TEST_CASE("trainer: logit adjustment removes the hospital's class prior from predictions") {
  // Features carry no information and 90% of the labels are 1: a plain model learns to
  // predict the prior (p(1) = 0.9); with the logit-adjusted loss the raw logits carry no
  // prior, so predictions are balanced (p(1) = 0.5).
  data::Split s;
  for (data::Dataset* d : {&s.train, &s.test}) {
    d->sample_shape = {2};
    d->num_classes = 2;
    for (int i = 0; i < 200; ++i) {
      d->features.insert(d->features.end(), {0.0f, 0.0f});
      d->labels.push_back(i % 10 == 0 ? 0 : 1);
    }
  }
  auto mean_p1 = [&](double tau) {
    Plan plan;
    plan.model.name = "logreg";
    plan.training.learning_rate = 0.1;
    plan.training.epochs = 30;
    plan.training.logit_adjustment = tau;
    auto t = Trainer::Create(plan, s, DeviceOptions{"cpu", 1}, 1);
    REQUIRE(t.ok());
    REQUIRE((*t)->Train(0).ok());
    auto p = (*t)->PredictProbabilities(s.test);
    REQUIRE(p.ok());
    double sum = 0;
    for (size_t i = 1; i < p->size(); i += 2) sum += (*p)[i];
    return sum / 200;
  };
  CHECK(mean_p1(0.0) == Approx(0.9).margin(0.03));
  CHECK(mean_p1(1.0) == Approx(0.5).margin(0.03));
  // tau scales the adjustment: half of it leaves sqrt(9) = 3 to 1 odds, p(1) = 0.75.
  CHECK(mean_p1(0.5) == Approx(0.75).margin(0.03));
}

TEST_CASE("trainer: logit adjustment is refused for segmentation and out of range") {
  auto bad = ParsePlan(nlohmann::json::parse(R"({"training": {"logit_adjustment": -1}})"), "plan");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("plan.training.logit_adjustment"));
  auto ok = ParsePlan(nlohmann::json::parse(R"({"training": {"logit_adjustment": 1}})"), "plan");
  REQUIRE(ok.ok());
  CHECK(ok->training.logit_adjustment == 1.0);
  CHECK(PlanToJson(*ok)["training"]["logit_adjustment"] == 1.0);
  // The coordinator refuses it for a segmentation plan at start-up...
  auto unet = ParsePlan(nlohmann::json::parse(R"({"model": {"name": "unet"}, "training": {"logit_adjustment": 1}})"), "plan");
  REQUIRE_FALSE(unet.ok());
  CHECK_THAT(unet.status().message(), Catch::Contains("plan.training.logit_adjustment") && Catch::Contains("unet"));
  data::Split seg;
  for (data::Dataset* d : {&seg.train, &seg.test}) {
    d->sample_shape = {1, 8, 8};
    d->mask_shape = {8, 8};
    d->num_classes = 2;
    d->features.assign(64, 0.5f);
    d->masks.assign(64, 1);
    d->labels.push_back(0);
  }
  // ... and a worker refuses it too (a plan built in code, not parsed).
  Plan p = *ok;
  p.model.name = "unet";
  auto t = Trainer::Create(p, seg, DeviceOptions{"cpu", 1}, 1);
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.status().message(), Catch::Contains("logit_adjustment"));
}
