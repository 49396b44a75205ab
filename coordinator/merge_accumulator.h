// A merge federation's running merge (docs/merging.md): the weighted mean A of every data
// vector merged so far, all expressed against the federation's base B0, their total weight
// and the ids of the vectors in it. Published model versions are B0 + lambda * A. Holds
// sums only (what secure aggregation reveals), never one hospital's vector; no I/O.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::coordinator {

class MergeAccumulator {
 public:
  explicit MergeAccumulator(size_t dimension) : direction_(dimension, 0.0) {}
  // From the state saved with a published version (Save's checkpoint).
  static StatusOr<MergeAccumulator> Restore(const Checkpoint& saved, size_t dimension, const std::string& what);
  // The state as a checkpoint in `layout`: A's values, the total weight and the merged ids
  // in its metadata.
  Checkpoint Save(const ModelLayout& layout) const;

  // Where a window's vectors were taken: B0 (no offset), or merged version u = B0 +
  // lambda_u A_u, `offset` = M_u - B0 away from it.
  struct Origin {
    const std::vector<float>* offset = nullptr;
    double lambda = 1;  // lambda_u
  };
  // Folds in one window: `mean` is the weighted mean of its vectors and `weight` their total
  // weight. A vector tau' against M_u becomes r = (tau' + M_u - B0) / lambda_u, so that
  // B0 + lambda_u r is the hospital's fine-tuned model M_u + tau'. The window counts with the
  // staleness factor `alpha` in (0, 1].
  void Add(const std::vector<double>& mean, double weight, const Origin& origin, double alpha,
           const std::vector<std::string>& vector_ids);

  bool Merged(const std::string& vector_id) const { return merged_.count(vector_id) > 0; }
  size_t merged_count() const { return merged_.size(); }
  double total_weight() const { return weight_; }
  // A, the merged direction, as floats.
  std::vector<float> Direction() const;
  // B0 + lambda * A.
  std::vector<float> Model(const std::vector<float>& base, double lambda) const;

 private:
  std::vector<double> direction_;
  double weight_ = 0;
  std::set<std::string> merged_;
};

// The lambda of the highest score; among the scores within `tie` of it, the one closest to
// 1 (the plain weighted mean: the least extrapolation).
double BestLambda(const std::vector<double>& lambdas, const std::vector<double>& scores, double tie);

// FedBuff's staleness weight 1 / sqrt(1 + staleness).
double StalenessWeight(uint64_t staleness);

}  // namespace fl::coordinator
