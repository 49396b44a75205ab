#include "fl/server_optimizer.h"

#include <string>

namespace fl {

Status ServerOptimizer::Step(const std::vector<double>& average_delta, std::vector<float>* model) {
  const size_t d = model->size();
  if (average_delta.size() != d) {
    return InvalidArgument("aggregate of " + std::to_string(average_delta.size()) + " values for a model of " +
                           std::to_string(d));
  }
  if (p_.momentum == 0) {
    for (size_t i = 0; i < d; ++i) (*model)[i] = static_cast<float>((*model)[i] + p_.learning_rate * average_delta[i]);
    return Status::Ok();
  }
  if (velocity_.empty()) velocity_.assign(d, 0.0);
  if (velocity_.size() != d) return FailedPrecondition("the model changed size between rounds");
  for (size_t i = 0; i < d; ++i) {
    velocity_[i] = p_.momentum * velocity_[i] + average_delta[i];
    (*model)[i] = static_cast<float>((*model)[i] + p_.learning_rate * velocity_[i]);
  }
  return Status::Ok();
}

}  // namespace fl
