// What a merge federation has published and which vectors it has summed (docs/merging.md),
// kept in its state_dir: each published version's file hash (how a hospital names the model
// its vector was taken against) and lambda (to re-base vectors taken against it), and the
// ids of vectors whose sum the coordinator has learnt in a window that never committed
// (spent-vectors.txt), which are never summed again.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/status.h"
#include "saved_state.h"

namespace fl::coordinator {

class MergeLedger {
 public:
  MergeLedger(Env& env, std::string state_dir) : env_(env), state_dir_(std::move(state_dir)) {}

  // `base_hash`: the base model file's; it is version 0, with lambda 1.
  void SetBase(std::string base_hash) { base_hash_ = std::move(base_hash); }
  const std::string& base_hash() const { return base_hash_; }
  // Reads back a continued run: the versions on disk, their lambdas and the spent ids.
  Status Open(const SavedState& saved);

  std::optional<uint64_t> VersionOfModel(const std::string& blake2b) const;
  std::optional<double> LambdaOf(uint64_t version) const;
  // After version `version` (its file written) is committed with `lambda`.
  Status RecordVersion(uint64_t version, double lambda);

  bool Spent(const std::string& vector_id) const { return spent_.count(vector_id) > 0; }
  // Written before anything else once a vector round's sum is known.
  Status RecordSpent(const std::vector<std::string>& ids);

 private:
  Status HashVersionFile(uint64_t version);

  Env& env_;
  std::string state_dir_;
  std::string base_hash_;
  std::map<std::string, uint64_t> version_of_hash_;
  std::map<uint64_t, double> lambdas_;
  std::set<std::string> spent_;
};

}  // namespace fl::coordinator
