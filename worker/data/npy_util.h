// Helpers shared by the .npy parser and the .npz loader (internal to worker/data).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/npz_loader.h"
#include "fl/status.h"

namespace fl::data::internal {

// A validated numpy dtype: kind 'b' (bool), 'i', 'u' or 'f', and its size in bytes. Data is
// always little-endian (big-endian descrs are rejected by ParseNpyDtype).
struct NpyDtype {
  char kind = 0;
  size_t itemsize = 0;
};

// Checks a descr such as "<f4" or "|u1". InvalidArgument (prefixed with `what`) for object,
// string, structured, complex or big-endian dtypes.
StatusOr<NpyDtype> ParseNpyDtype(const std::string& descr, const std::string& what);

// Python-style shape, e.g. "(4708, 28, 28)" or "(5,)".
std::string ShapeString(const std::vector<int64_t>& shape);

// Element i of an integer or bool array as int64. False if an unsigned value exceeds INT64_MAX.
// Precondition: i < a.numel() and `t` is a.dtype parsed.
bool ReadIntegerElement(const NpyArray& a, const NpyDtype& t, size_t i, int64_t* out);

}  // namespace fl::data::internal
