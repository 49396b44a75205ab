// Personal models (plan.personalization): which tensors each method keeps at the hospital,
// that the federation sees only the shared ones, the FedRep, Ditto and fine-tuning passes,
// and the personal model's file, from which a restarted worker resumes.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>

#include "fl/safetensors.h"
#include "mem_env.h"
#include "training/personalized_trainer.h"
#include "training/trainer.h"

using namespace fl;
using namespace fl::worker;
using fl::testing::MemEnv;

namespace {

// Two classes of 1x8x8 images: a bright upper or lower half, with a little texture.
data::Split Halves() {
  data::Split s;
  for (data::Dataset* d : {&s.train, &s.test}) {
    d->sample_shape = {1, 8, 8};
    d->num_classes = 2;
    for (int i = 0; i < 64; ++i) {
      const int y = i % 2;
      for (int p = 0; p < 64; ++p) {
        const bool upper = p < 32;
        d->features.push_back((upper == (y == 1) ? 0.8f : 0.2f) + 0.05f * static_cast<float>((p * 7 + i) % 5));
      }
      d->labels.push_back(y);
    }
  }
  return s;
}

Plan CnnPlan(const std::string& method) {
  Plan p;
  p.model.name = "cnn";
  p.model.channels = 4;
  p.training.learning_rate = 0.01;
  p.training.batch_size = 16;
  p.personalization.method = method;
  return p;
}

std::unique_ptr<Trainer> Whole(const Plan& p, uint64_t seed = 1) {
  auto t = Trainer::Create(p, Halves(), DeviceOptions{"cpu", 1}, seed);
  REQUIRE(t.ok());
  return std::move(t).value();
}

std::vector<std::string> Names(const ModelLayout& l) {
  std::vector<std::string> out;
  for (const auto& t : l.tensors) out.push_back(t.name);
  return out;
}

double Distance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

}  // namespace

TEST_CASE("every model names its normalisation layers and its head") {
  for (const char* name : {"cnn", "resnet", "mlp", "logreg"}) {
    Plan p = CnnPlan("none");
    p.model.name = name;
    auto t = Whole(p);
    const TensorRoles r = t->Roles();
    const std::vector<std::string> names = Names(t->Layout());
    REQUIRE(r.normalization.size() == names.size());
    REQUIRE(r.head.size() == names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      INFO(name << " " << names[i]);
      CHECK(r.normalization[i] == (names[i].find("norm") != std::string::npos));
      const std::string head = std::string(name) == "mlp" || std::string(name) == "cnn" ? "out." : "fc.";
      CHECK(r.head[i] == (names[i].rfind(head, 0) == 0));
    }
  }
  auto mlp = Whole([] { Plan p = CnnPlan("none"); p.model.name = "mlp"; return p; }());
  CHECK_FALSE(PersonalTensors(CnnPlan("fedbn").personalization, *mlp).ok());
  CHECK(PersonalTensors(CnnPlan("fedrep").personalization, *mlp).ok());
}

TEST_CASE("FedBN: the federation sees only the shared tensors; the norms stay, train and resume") {
  MemEnv env;
  const std::string path = PersonalModelPath("state");
  const Plan plan = CnnPlan("fedbn");
  auto whole = Whole(plan);
  const ModelLayout all = whole->Layout();
  auto t = Personalize(std::move(whole), plan, env, path);
  REQUIRE(t.ok());
  Trainer& fed = **t;
  for (const std::string& n : Names(fed.Layout())) CHECK(n.find("norm") == std::string::npos);
  CHECK(fed.Layout().tensors.size() == all.tensors.size() - 6);
  CHECK(fed.Parameters().size() == fed.Layout().dimension());
  CHECK_FALSE(fed.SetParameters(std::vector<float>(fed.Layout().dimension() + 1)).ok());

  const std::vector<float> global = fed.Parameters();
  REQUIRE(fed.Train(0).ok());
  REQUIRE(env.FileExists(path));
  auto saved = ReadSafetensors(env, path);
  REQUIRE(saved.ok());
  CHECK(saved->metadata.at("personalization") == "fedbn");
  CHECK(Names(saved->layout) == Names(all));  // the whole model the hospital uses
  // The next global model replaces the shared tensors only: the trained norms stay.
  REQUIRE(fed.SetParameters(global).ok());
  const auto before = fed.Evaluate();
  REQUIRE(before.ok());
  auto fresh = Personalize(Whole(plan), plan, env, "");  // not resumed: initial norms
  REQUIRE(fresh.ok());
  REQUIRE((*fresh)->SetParameters(global).ok());
  const auto initial = (*fresh)->Evaluate();
  REQUIRE(initial.ok());
  CHECK(before->loss != Approx(initial->loss).epsilon(1e-9));
  // A restarted worker resumes the personal tensors from the file.
  auto restarted = Personalize(Whole(plan), plan, env, path);
  REQUIRE(restarted.ok());
  REQUIRE((*restarted)->SetParameters(global).ok());
  const auto resumed = (*restarted)->Evaluate();
  REQUIRE(resumed.ok());
  CHECK(resumed->loss == Approx(before->loss).epsilon(1e-12));
  // A personal model of another method is not silently replaced.
  auto other = Personalize(Whole(CnnPlan("fedrep")), CnnPlan("fedrep"), env, path);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message().find(path) != std::string::npos);
}

TEST_CASE("FedRep: the head trains on a frozen body, then the body on a frozen head") {
  const Plan plan = CnnPlan("none");
  auto t = Whole(plan);
  const TensorRoles roles = t->Roles();
  const ModelLayout layout = t->Layout();
  const std::vector<float> w0 = t->Parameters();
  LocalPass head_only;
  for (bool h : roles.head) head_only.frozen.push_back(!h);
  REQUIRE(t->TrainPass(0, head_only, nullptr).ok());
  const std::vector<float> w1 = t->Parameters();
  CHECK(SelectTensors(layout, roles.head, w1) != SelectTensors(layout, roles.head, w0));
  std::vector<bool> body;
  for (bool h : roles.head) body.push_back(!h);
  CHECK(SelectTensors(layout, body, w1) == SelectTensors(layout, body, w0));
  LocalPass wrong;
  wrong.frozen = {true};
  CHECK_FALSE(t->TrainPass(0, wrong, nullptr).ok());

  // With weight decay, after a pass that trained everything (every tensor has a gradient),
  // a frozen tensor still does not move: neither decay nor a stale gradient reaches it.
  for (const char* optimizer : {"adam", "sgd"}) {
    Plan decayed = plan;
    decayed.training.optimizer = optimizer;
    decayed.training.weight_decay = 0.1;
    auto d = Whole(decayed);
    REQUIRE(d->Train(0).ok());
    const std::vector<float> before = d->Parameters();
    REQUIRE(d->TrainPass(1, head_only, nullptr).ok());
    INFO(optimizer);
    CHECK(SelectTensors(layout, body, d->Parameters()) == SelectTensors(layout, body, before));
    CHECK(SelectTensors(layout, roles.head, d->Parameters()) != SelectTensors(layout, roles.head, before));
  }

  MemEnv env;
  auto rep = Personalize(Whole(CnnPlan("fedrep")), CnnPlan("fedrep"), env, "state/p.safetensors");
  REQUIRE(rep.ok());
  for (const std::string& n : Names((*rep)->Layout())) CHECK(n.rfind("out.", 0) != 0);
  const std::vector<float> shared0 = (*rep)->Parameters();
  REQUIRE((*rep)->Train(0).ok());
  CHECK((*rep)->Parameters() != shared0);  // the body trained too
}

TEST_CASE("Ditto: a personal model pulled toward the global one, beside the global update") {
  MemEnv env;
  Plan plan = CnnPlan("ditto");
  plan.training.optimizer = "sgd";
  plan.training.learning_rate = 0.05;
  plan.training.epochs = 2;
  std::vector<double> moved;
  for (double lambda : {0.0, 10.0}) {
    plan.personalization.ditto_lambda = lambda;
    const std::string path = "state/ditto-" + std::to_string(static_cast<int>(lambda)) + ".safetensors";
    auto t = Personalize(Whole(plan), plan, env, path);
    REQUIRE(t.ok());
    CHECK((*t)->Layout().dimension() == Whole(plan)->Layout().dimension());  // every tensor is shared
    const std::vector<float> w0 = (*t)->Parameters();
    REQUIRE((*t)->Train(0).ok());
    const std::vector<float> w1 = (*t)->Parameters();  // the global model's local update, as in FedAvg
    CHECK(Distance(w1, w0) > 0);
    auto v = ReadSafetensors(env, path);  // the personal model
    REQUIRE(v.ok());
    CHECK(v->metadata.at("personalization") == "ditto");
    moved.push_back(Distance(v->values, w0));
    if (lambda == 0) CHECK(v->values == w1);  // no pull: it trains exactly like the global model
    // Evaluate scores the personal model, and leaves the global one in place.
    const auto personal = (*t)->Evaluate();
    REQUIRE(personal.ok());
    CHECK((*t)->Parameters() == w1);
  }
  INFO("distance from the round's global model: lambda 0 " << moved[0] << ", lambda 10 " << moved[1]);
  CHECK(moved[1] < 0.5 * moved[0]);
}

TEST_CASE("fine-tuning: the final global model, fine-tuned at the hospital and saved") {
  MemEnv env;
  Plan plan = CnnPlan("finetune");
  plan.personalization.finetune_epochs = 3;
  auto t = Personalize(Whole(plan), plan, env, "state/p.safetensors");
  REQUIRE(t.ok());
  const auto global = (*t)->Evaluate();
  REQUIRE(global.ok());
  REQUIRE((*t)->Train(0).ok());
  CHECK_FALSE(env.FileExists("state/p.safetensors"));  // nothing personal during the rounds
  const std::vector<float> final_global = (*t)->Parameters();
  const auto tuned = (*t)->EvaluateFinalModel(1);
  REQUIRE(tuned.ok());
  CHECK((*t)->Parameters() == final_global);  // the global model is untouched
  auto saved = ReadSafetensors(env, "state/p.safetensors");
  REQUIRE(saved.ok());
  CHECK(saved->values != final_global);
  CHECK(tuned->loss < global->loss);
}

TEST_CASE("packing tensors by a mask round-trips") {
  ModelLayout l{{{"a", {2}}, {"b", {3}}, {"c", {1}}}};
  const std::vector<float> whole = {1, 2, 3, 4, 5, 6};
  const std::vector<bool> which = {true, false, true};
  CHECK(Names(SelectLayout(l, which)) == std::vector<std::string>{"a", "c"});
  CHECK(SelectTensors(l, which, whole) == std::vector<float>{1, 2, 6});
  std::vector<float> out(6, 0);
  REQUIRE(PlaceTensors(l, which, {7, 8, 9}, &out).ok());
  CHECK(out == std::vector<float>{7, 8, 0, 0, 0, 9});
  CHECK_FALSE(PlaceTensors(l, which, {7, 8}, &out).ok());
  CHECK_FALSE(PlaceTensors(l, {true}, {7, 8}, &out).ok());
}
