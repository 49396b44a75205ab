#include "fl/server_optimizer.h"

#include <cmath>
#include <string>

namespace fl {

Status ServerOptimizer::Step(const std::vector<double>& average_delta, std::vector<float>* model) {
  const size_t d = model->size();
  if (average_delta.size() != d) {
    return InvalidArgument("aggregate of " + std::to_string(average_delta.size()) + " values for a model of " +
                           std::to_string(d));
  }
  if (!p_.stateful()) {
    for (size_t i = 0; i < d; ++i) (*model)[i] = static_cast<float>((*model)[i] + p_.learning_rate * average_delta[i]);
    return Status::Ok();
  }
  if (m_.empty()) {
    m_.assign(d, 0.0f);
    if (adaptive()) v_.assign(d, static_cast<float>(p_.tau * p_.tau));
  }
  if (m_.size() != d || (adaptive() && v_.size() != d)) return FailedPrecondition("the model changed size between rounds");
  if (!adaptive()) {
    for (size_t i = 0; i < d; ++i) {
      m_[i] = static_cast<float>(p_.momentum * m_[i] + average_delta[i]);
      (*model)[i] = static_cast<float>((*model)[i] + p_.learning_rate * m_[i]);
    }
    return Status::Ok();
  }
  const bool yogi = p_.kind == "fedyogi", adam = p_.kind == "fedadam";
  for (size_t i = 0; i < d; ++i) {
    const double g = average_delta[i], g2 = g * g;
    m_[i] = static_cast<float>(p_.beta1 * m_[i] + (1 - p_.beta1) * g);
    double v = v_[i];
    if (yogi) {
      v -= (1 - p_.beta2) * g2 * (v > g2 ? 1.0 : (v < g2 ? -1.0 : 0.0));
    } else if (adam) {
      v = p_.beta2 * v + (1 - p_.beta2) * g2;
    } else {
      v += g2;
    }
    v_[i] = static_cast<float>(v);
    (*model)[i] = static_cast<float>((*model)[i] + p_.learning_rate * m_[i] / (std::sqrt(double(v_[i])) + p_.tau));
  }
  return Status::Ok();
}

Checkpoint ServerOptimizer::State() const {
  Checkpoint c;
  if (m_.empty()) return c;
  c.layout.tensors.push_back({"server.m", {m_.size()}});
  c.values = m_;
  if (!v_.empty()) {
    c.layout.tensors.push_back({"server.v", {v_.size()}});
    c.values.insert(c.values.end(), v_.begin(), v_.end());
  }
  c.metadata["server_optimizer"] = p_.kind;
  return c;
}

Status ServerOptimizer::Restore(const Checkpoint& state, size_t dimension) {
  const size_t tensors = adaptive() ? 2 : 1;
  auto kind = state.metadata.find("server_optimizer");
  if (kind == state.metadata.end() || kind->second != p_.kind) {
    return FailedPrecondition("the saved server optimizer state is of another optimizer (" +
                              (kind == state.metadata.end() ? std::string("none") : kind->second) + ", not " +
                              p_.kind + ")");
  }
  if (state.layout.tensors.size() != tensors || state.values.size() != tensors * dimension) {
    return FailedPrecondition("the saved server optimizer state does not fit a model of " + std::to_string(dimension) +
                              " parameters");
  }
  FL_RETURN_IF_ERROR(CheckFinite(state, "server optimizer state"));
  m_.assign(state.values.begin(), state.values.begin() + static_cast<std::ptrdiff_t>(dimension));
  v_.clear();
  if (adaptive()) v_.assign(state.values.begin() + static_cast<std::ptrdiff_t>(dimension), state.values.end());
  return Status::Ok();
}

}  // namespace fl
