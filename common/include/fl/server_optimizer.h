// The coordinator's step from one global model to the next. The secure aggregate is the
// n_k-weighted mean of the hospitals' updates (delta = local model - global model); plain
// FedAvg adds it to the global model. With server momentum (FedAvgM, Hsu et al. 2019) the
// coordinator keeps a velocity v <- momentum * v + delta and steps by learning_rate * v,
// which damps the round-to-round swings that label skew between hospitals causes. Both
// use only the aggregate, which the coordinator learns anyway.
#pragma once

#include <cstddef>
#include <vector>

#include "fl/status.h"

namespace fl {

struct ServerOptimizerParams {
  double learning_rate = 1.0;  // 1 with momentum 0 = FedAvg
  double momentum = 0.0;       // 0 = no velocity kept
};

class ServerOptimizer {
 public:
  explicit ServerOptimizer(ServerOptimizerParams p) : p_(p) {}
  // model += learning_rate * (momentum * v + average_delta), v updated in place. The sizes
  // must agree (and stay the same over calls).
  Status Step(const std::vector<double>& average_delta, std::vector<float>* model);
  const std::vector<double>& velocity() const { return velocity_; }

 private:
  ServerOptimizerParams p_;
  std::vector<double> velocity_;
};

}  // namespace fl
