// The coordinator's step from one global model to the next. The secure aggregate is the
// n_k-weighted mean of the hospitals' updates (delta = local model - global model); plain
// FedAvg adds it to the global model. The other optimizers keep state between rounds and
// use only the aggregate, which the coordinator learns anyway:
//   FedAvgM (Hsu et al. 2019): v <- momentum v + delta; model += learning_rate v.
//   FedAdagrad, FedYogi, FedAdam (Reddi et al., "Adaptive Federated Optimization", ICLR
//   2021, Algorithm 2, no bias correction), with m_0 = 0 and v_0 = tau^2:
//     m <- beta1 m + (1 - beta1) delta
//     FedAdagrad: v <- v + delta^2
//     FedYogi:    v <- v - (1 - beta2) delta^2 sign(v - delta^2)
//     FedAdam:    v <- beta2 v + (1 - beta2) delta^2
//     model += learning_rate m / (sqrt(v) + tau)
// The state is held in float32, as the model is, so that it is saved with each round and a
// restarted coordinator continues it bit for bit (State() and Restore()).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl {

struct ServerOptimizerParams {
  double learning_rate = 1.0;   // 1 with momentum 0 = FedAvg
  double momentum = 0.0;        // fedavg: 0 = no velocity kept
  std::string kind = "fedavg";  // "fedavg" (momentum > 0: FedAvgM), "fedadagrad", "fedyogi", "fedadam"
  double beta1 = 0.9;           // adaptive: first moment decay
  double beta2 = 0.99;          // fedyogi, fedadam: second moment decay
  double tau = 1e-3;            // adaptive: how much adaptivity (larger = closer to FedAvgM)

  bool stateful() const { return kind != "fedavg" || momentum > 0; }
};

class ServerOptimizer {
 public:
  explicit ServerOptimizer(ServerOptimizerParams p) : p_(std::move(p)) {}
  // Moves `model` by one round's aggregate, updating the state. The sizes must agree (and
  // stay the same over calls).
  Status Step(const std::vector<double>& average_delta, std::vector<float>* model);

  // The state as tensors "server.m" (velocity or first moment) and "server.v" (second
  // moment, adaptive only), empty before the first step or for plain FedAvg.
  Checkpoint State() const;
  // Continues from a saved State() of the same kind and size.
  Status Restore(const Checkpoint& state, size_t dimension);

  const std::vector<float>& velocity() const { return m_; }  // FedAvgM's v, the adaptive m
  const std::vector<float>& second_moment() const { return v_; }

 private:
  bool adaptive() const { return p_.kind != "fedavg"; }
  ServerOptimizerParams p_;
  std::vector<float> m_, v_;
};

}  // namespace fl
