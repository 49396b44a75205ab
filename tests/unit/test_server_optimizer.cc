// Tests for the coordinator's model step (fl/server_optimizer.h): FedAvg and FedAvgM.
#include <catch2/catch.hpp>

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
  CHECK(m.velocity() == std::vector<double>{1.5, -1.0});
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
