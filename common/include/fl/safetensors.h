// Model checkpoints in the safetensors layout (https://huggingface.co/docs/safetensors):
// 8-byte little-endian header length, a JSON header mapping each tensor name to
// {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]} plus "__metadata__",
// then the raw little-endian data. Python reads it with the `safetensors` package or
// with ten lines of json + numpy (docs/checkpoints.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/status.h"

namespace fl {

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> shape;
  uint64_t numel() const;
};

// Flat parameter vector plus the tensors it is cut into (in order).
struct ModelLayout {
  std::vector<TensorInfo> tensors;
  uint64_t dimension() const;  // sum of numel
  Status Validate(uint64_t max_dimension) const;
};

struct Checkpoint {
  ModelLayout layout;
  std::vector<float> values;                   // layout.dimension() floats
  std::map<std::string, std::string> metadata; // string -> string, as safetensors requires
};

// DataLoss naming `what` and the first tensor that holds a NaN or an infinity.
Status CheckFinite(const Checkpoint& c, const std::string& what);
// InvalidArgument unless `got` has exactly the tensors of `expected`, by name and shape,
// in order; the error names the first difference.
Status CheckSameLayout(const ModelLayout& expected, const ModelLayout& got, const std::string& what);

std::string EncodeSafetensors(const Checkpoint& c);
StatusOr<Checkpoint> DecodeSafetensors(const std::string& bytes, const std::string& what);

Status WriteSafetensors(Env& env, const std::string& path, const Checkpoint& c);  // atomic
StatusOr<Checkpoint> ReadSafetensors(Env& env, const std::string& path);

}  // namespace fl
