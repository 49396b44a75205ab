#include "validation_split.h"

#include <map>
#include <string>

namespace fl::worker {

namespace {
constexpr uint64_t kValidationSeed = 0x76616c6964617465ull;  // "validate": the same for every hospital
}  // namespace

StatusOr<data::Dataset> HoldOutValidation(data::Dataset* train, double fraction) {
  if (!(fraction >= 0 && fraction <= 0.5)) return InvalidArgument("validation_fraction must be in [0, 0.5]");
  if (fraction == 0) return data::Dataset{};
  // Cases (volumes, patients) are held out whole; without case ids each sample is its own.
  std::vector<int32_t> case_of(train->size());
  std::map<int32_t, size_t> index_of_case;
  for (size_t i = 0; i < train->size(); ++i) {
    const int32_t c = train->cases.empty() ? static_cast<int32_t>(i) : train->cases[i];
    case_of[i] = static_cast<int32_t>(index_of_case.emplace(c, index_of_case.size()).first->second);
  }
  data::Partition p;
  p.weights = {1.0 - fraction, fraction};
  p.index = 1;
  p.seed = kValidationSeed;
  FL_ASSIGN_OR_RETURN(std::vector<size_t> held_cases, data::PartitionRows(index_of_case.size(), p));
  std::vector<bool> held(index_of_case.size(), false);
  for (size_t c : held_cases) held[c] = true;
  std::vector<size_t> keep, hold;
  for (size_t i = 0; i < train->size(); ++i) (held[case_of[i]] ? hold : keep).push_back(i);
  if (keep.empty() || hold.empty()) {
    return InvalidArgument("a validation_fraction of " + std::to_string(fraction) + " of " +
                           std::to_string(index_of_case.size()) + " training cases leaves one part empty");
  }
  data::Dataset validation = data::Subset(*train, hold);
  *train = data::Subset(*train, keep);
  return validation;
}

}  // namespace fl::worker
