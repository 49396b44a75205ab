// TIES merging at the hospital (Yadav et al., NeurIPS 2023; docs/merging.md): its data
// vector trimmed to its largest entries, and, once the federation has elected each
// parameter's sign from the sum of the trimmed vectors, the trimmed entries that agree.
// Only these enter secure aggregation, never the vector itself.
#pragma once

#include <vector>

#include "fl/status.h"

namespace fl::worker {

// `tau` with every entry but its ceil(density x size) largest in magnitude set to 0 (of
// equal magnitudes, the lower indices are kept). density is in (0, 1].
std::vector<float> TrimToLargest(const std::vector<float>& tau, double density);

// InvalidArgument unless every elected sign is -1, 0 or 1.
Status CheckSigns(const std::vector<float>& signs);

// The agreement round's input, 2 x size entries: each trimmed entry whose sign is the
// elected one (0 elsewhere), then `indicator` where it agrees and 0 elsewhere. An entry of
// 0 agrees with no sign. `signs` holds -1, 0 or 1 per entry; anything else is refused.
StatusOr<std::vector<float>> AgreeingEntries(const std::vector<float>& trimmed, const std::vector<float>& signs,
                                             float indicator);

}  // namespace fl::worker
