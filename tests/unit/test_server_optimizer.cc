// Tests for the coordinator's model step (fl/server_optimizer.h): FedAvg, FedAvgM and the
// adaptive optimizers of Reddi et al. (2021), and their saved state.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "fl/server_optimizer.h"

using fl::ServerOptimizer;
using fl::ServerOptimizerParams;

TEST_CASE("server optimizer: FedAvg adds the aggregate, scaled by the server learning rate", "[server_optimizer]") {
  std::vector<float> model = {1.0f, -2.0f, 0.5f};
  ServerOptimizer fedavg(ServerOptimizerParams{});
  REQUIRE(fedavg.Step({0.25, 0.5, -1.0}, &model).ok());
  CHECK(model == std::vector<float>{1.25f, -1.5f, -0.5f});
  CHECK(fedavg.velocity().empty());  // no state without momentum
  ServerOptimizer half(ServerOptimizerParams{0.5, 0.0});
  REQUIRE(half.Step({1.0, 1.0, 1.0}, &model).ok());
  CHECK(model == std::vector<float>{1.75f, -1.0f, 0.0f});
}

TEST_CASE("server optimizer: momentum accumulates a velocity across rounds", "[server_optimizer]") {
  std::vector<float> model = {0.0f, 10.0f};
  ServerOptimizer m(ServerOptimizerParams{1.0, 0.5});
  // v1 = d1; v2 = 0.5 v1 + d2; v3 = 0.5 v2 + d3.
  REQUIRE(m.Step({1.0, -2.0}, &model).ok());
  CHECK(model[0] == Approx(1.0));
  CHECK(model[1] == Approx(8.0));
  REQUIRE(m.Step({1.0, 0.0}, &model).ok());
  CHECK(m.velocity() == std::vector<float>{1.5f, -1.0f});
  CHECK(model[0] == Approx(2.5));
  CHECK(model[1] == Approx(7.0));
  REQUIRE(m.Step({0.0, 0.0}, &model).ok());  // a zero aggregate still moves the model
  CHECK(model[0] == Approx(3.25));
  CHECK(model[1] == Approx(6.5));
  ServerOptimizer slow(ServerOptimizerParams{0.1, 0.9});
  std::vector<float> w = {0.0f};
  REQUIRE(slow.Step({1.0}, &w).ok());
  REQUIRE(slow.Step({1.0}, &w).ok());
  CHECK(w[0] == Approx(0.1 * 1.0 + 0.1 * 1.9));
}

TEST_CASE("server optimizer: an aggregate of the wrong size is refused and changes nothing", "[server_optimizer]") {
  std::vector<float> model = {1.0f, 2.0f};
  for (double momentum : {0.0, 0.9}) {
    ServerOptimizer o(ServerOptimizerParams{1.0, momentum});
    auto s = o.Step({1.0, 2.0, 3.0}, &model);
    CHECK(s.code() == fl::StatusCode::kInvalidArgument);
    CHECK(model == std::vector<float>{1.0f, 2.0f});
  }
  ServerOptimizer o(ServerOptimizerParams{1.0, 0.9});
  REQUIRE(o.Step({1.0, 1.0}, &model).ok());
  std::vector<float> bigger = {0.0f, 0.0f, 0.0f};
  CHECK(o.Step({1.0, 1.0, 1.0}, &bigger).code() == fl::StatusCode::kFailedPrecondition);
  CHECK(bigger == std::vector<float>{0.0f, 0.0f, 0.0f});
}

namespace {

ServerOptimizerParams Adaptive(const char* kind, double lr) {
  ServerOptimizerParams p;
  p.kind = kind;
  p.learning_rate = lr;
  p.beta1 = 0.9;
  p.beta2 = 0.99;
  p.tau = 0.01;
  return p;
}

}  // namespace

TEST_CASE("server optimizer: FedAdagrad, FedYogi and FedAdam follow Reddi et al.'s Algorithm 2", "[server_optimizer]") {
  // Two rounds on one coordinate, deltas 0.5 then -0.2, by hand: m0 = 0, v0 = tau^2 = 1e-4.
  // m1 = 0.05, m2 = 0.9 * 0.05 - 0.02 = 0.025.
  struct Case {
    const char* kind;
    double v1, v2;
  };
  const double tau2 = 1e-4;
  const Case cases[] = {
      {"fedadagrad", tau2 + 0.25, tau2 + 0.25 + 0.04},
      {"fedyogi", tau2 + 0.01 * 0.25, (tau2 + 0.01 * 0.25) + 0.01 * 0.04},  // v < delta^2: v grows
      {"fedadam", 0.99 * tau2 + 0.01 * 0.25, 0.99 * (0.99 * tau2 + 0.01 * 0.25) + 0.01 * 0.04},
  };
  for (const Case& c : cases) {
    INFO(c.kind);
    ServerOptimizer o(Adaptive(c.kind, 0.1));
    std::vector<float> model = {1.0f};
    REQUIRE(o.Step({0.5}, &model).ok());
    CHECK(o.velocity()[0] == Approx(0.05));
    CHECK(o.second_moment()[0] == Approx(c.v1).epsilon(1e-5));
    const double x1 = 1.0 + 0.1 * 0.05 / (std::sqrt(c.v1) + 0.01);
    CHECK(model[0] == Approx(x1).epsilon(1e-5));
    REQUIRE(o.Step({-0.2}, &model).ok());
    CHECK(o.velocity()[0] == Approx(0.025));
    CHECK(o.second_moment()[0] == Approx(c.v2).epsilon(1e-5));
    CHECK(model[0] == Approx(x1 + 0.1 * 0.025 / (std::sqrt(c.v2) + 0.01)).epsilon(1e-5));
  }
}

TEST_CASE("server optimizer: FedYogi's second moment shrinks toward a smaller delta^2", "[server_optimizer]") {
  ServerOptimizer o(Adaptive("fedyogi", 1.0));
  std::vector<float> model = {0.0f};
  REQUIRE(o.Step({1.0}, &model).ok());
  const float v1 = o.second_moment()[0];
  REQUIRE(o.Step({0.001}, &model).ok());  // v > delta^2: v decreases by (1 - beta2) delta^2
  CHECK(o.second_moment()[0] == Approx(v1 - 0.01 * 1e-6).epsilon(1e-6));
}

TEST_CASE("server optimizer: a restored state continues bit for bit", "[server_optimizer]") {
  for (const char* kind : {"fedavg", "fedadagrad", "fedyogi", "fedadam"}) {
    INFO(kind);
    ServerOptimizerParams p = Adaptive(kind, 0.3);
    if (std::string(kind) == "fedavg") p.momentum = 0.7;
    const std::vector<std::vector<double>> deltas = {{0.3, -0.1, 0.02}, {-0.2, 0.05, 0.4}, {0.1, 0.1, -0.3}};
    ServerOptimizer straight(p);
    std::vector<float> a = {0.5f, -0.5f, 1.0f};
    for (const auto& d : deltas) REQUIRE(straight.Step(d, &a).ok());
    ServerOptimizer first(p);
    std::vector<float> b = {0.5f, -0.5f, 1.0f};
    REQUIRE(first.Step(deltas[0], &b).ok());
    // Through the checkpoint format, as a restarted coordinator reads it back.
    auto saved = fl::DecodeSafetensors(fl::EncodeSafetensors(first.State()), "state");
    REQUIRE(saved.ok());
    ServerOptimizer resumed(p);
    REQUIRE(resumed.Restore(*saved, 3).ok());
    for (size_t r = 1; r < deltas.size(); ++r) REQUIRE(resumed.Step(deltas[r], &b).ok());
    CHECK(a == b);
  }
}

TEST_CASE("server optimizer: a state of another optimizer or size is refused", "[server_optimizer]") {
  ServerOptimizer adam(Adaptive("fedadam", 0.1));
  std::vector<float> model = {0.0f, 0.0f};
  REQUIRE(adam.Step({0.1, 0.2}, &model).ok());
  ServerOptimizer yogi(Adaptive("fedyogi", 0.1));
  CHECK(yogi.Restore(adam.State(), 2).code() == fl::StatusCode::kFailedPrecondition);
  ServerOptimizer other(Adaptive("fedadam", 0.1));
  CHECK(other.Restore(adam.State(), 3).code() == fl::StatusCode::kFailedPrecondition);
  CHECK(other.Restore(adam.State(), 2).ok());
  CHECK(ServerOptimizer(ServerOptimizerParams{}).State().values.empty());  // plain FedAvg keeps none
}
