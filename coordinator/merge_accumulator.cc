#include "merge_accumulator.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace fl::coordinator {

// The lambda of the highest score; among scores within `tie` of it, the one closest to 1
// (the plain weighted mean: the least extrapolation).
double BestLambda(const std::vector<double>& lambdas, const std::vector<double>& scores, double tie) {
  const double top = *std::max_element(scores.begin(), scores.end());
  double best = lambdas[0];
  bool found = false;
  for (size_t i = 0; i < lambdas.size(); ++i) {
    if (scores[i] < top - tie) continue;
    if (!found || std::abs(lambdas[i] - 1.0) < std::abs(best - 1.0)) best = lambdas[i];
    found = true;
  }
  return best;
}

double StalenessWeight(uint64_t staleness) { return 1.0 / std::sqrt(1.0 + static_cast<double>(staleness)); }

void MergeAccumulator::Add(const std::vector<double>& mean, double weight, const Origin& origin, double alpha,
                           const std::vector<std::string>& vector_ids) {
  const double w = alpha * weight;
  const double total = weight_ + w;
  if (total <= 0 || !(origin.lambda > 0)) return;
  for (size_t i = 0; i < direction_.size(); ++i) {
    const double offset = origin.offset ? static_cast<double>((*origin.offset)[i]) : 0.0;
    const double against_base = (mean[i] + offset) / origin.lambda;
    direction_[i] = (direction_[i] * weight_ + against_base * w) / total;
  }
  weight_ = total;
  merged_.insert(vector_ids.begin(), vector_ids.end());
}

std::vector<float> MergeAccumulator::Direction() const {
  return std::vector<float>(direction_.begin(), direction_.end());
}

std::vector<float> MergeAccumulator::Model(const std::vector<float>& base, double lambda) const {
  std::vector<float> out(base.size());
  for (size_t i = 0; i < base.size(); ++i) out[i] = static_cast<float>(base[i] + lambda * direction_[i]);
  return out;
}

Checkpoint MergeAccumulator::Save(const ModelLayout& layout) const {
  Checkpoint c{layout, Direction(), {}};
  char weight[40];
  std::snprintf(weight, sizeof weight, "%.17g", weight_);
  std::string ids;
  for (const std::string& id : merged_) ids += (ids.empty() ? "" : ",") + id;
  c.metadata["kind"] = "merge_state";
  c.metadata["total_weight"] = weight;
  c.metadata["merged_vectors"] = ids;
  return c;
}

StatusOr<MergeAccumulator> MergeAccumulator::Restore(const Checkpoint& saved, size_t dimension,
                                                     const std::string& what) {
  auto field = [&](const char* key) {
    auto it = saved.metadata.find(key);
    return it == saved.metadata.end() ? std::string() : it->second;
  };
  if (field("kind") != "merge_state") return InvalidArgument(what + ": not a merge federation's state");
  if (saved.values.size() != dimension) return InvalidArgument(what + ": its direction is not the base's size");
  MergeAccumulator m(dimension);
  for (size_t i = 0; i < dimension; ++i) m.direction_[i] = saved.values[i];
  const std::string weight = field("total_weight");
  char* end = nullptr;
  m.weight_ = std::strtod(weight.c_str(), &end);
  if (weight.empty() || *end != '\0' || !(m.weight_ > 0) || !std::isfinite(m.weight_)) {
    return InvalidArgument(what + ": total_weight must be a positive number");
  }
  std::stringstream ids(field("merged_vectors"));
  std::string id;
  while (std::getline(ids, id, ',')) {
    if (id.size() != 32) return InvalidArgument(what + ": a merged vector id is not 32 hex digits");
    m.merged_.insert(id);
  }
  if (m.merged_.empty()) return InvalidArgument(what + ": no merged vectors recorded");
  return m;
}

}  // namespace fl::coordinator
