// Helpers shared by the volume preprocessing files (internal to worker/data).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "fl/status.h"

namespace fl::data::volume_internal {

// A number as an ostream prints it, for error messages.
std::string Num(double v);

// InvalidArgument (starting with `what`) unless every extent is in [1, 32767] and the
// volume has at most 2^31 voxels.
Status CheckDims(const std::array<int64_t, 3>& dims, const std::string& what);

}  // namespace fl::data::volume_internal
