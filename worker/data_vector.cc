#include "data_vector.h"

#include <cstdlib>

#include "fl/crypto.h"

namespace fl::worker {

std::string DataVectorPath(const std::string& state_dir) { return state_dir + "/data-vector.safetensors"; }
std::string SentMarkerPath(const std::string& state_dir) { return state_dir + "/data-vector.sent"; }

namespace {
std::string Field(const Checkpoint& c, const std::string& key) {
  auto it = c.metadata.find(key);
  return it == c.metadata.end() ? "" : it->second;
}
}  // namespace

std::string NewVectorId() {
  uint8_t id[16];
  crypto::RandomBytes(id, sizeof id);
  return crypto::ToHex(id, sizeof id);
}

StatusOr<DataVector> ReadDataVector(Env& env, const std::string& path) {
  if (!env.FileExists(path)) {
    return NotFound(path + ": no data vector here; make one with fl-worker finetune --base MODEL");
  }
  DataVector v;
  FL_ASSIGN_OR_RETURN(v.tau, ReadSafetensors(env, path));
  if (Field(v.tau, "kind") != "data_vector") return InvalidArgument(path + ": not a data vector (metadata kind)");
  v.base_blake2b = Field(v.tau, "base_blake2b");
  v.vector_id = Field(v.tau, "vector_id");
  if (!crypto::IsLowerHex(v.base_blake2b, 64)) return InvalidArgument(path + ": base_blake2b is not 64 hex digits");
  if (!crypto::IsLowerHex(v.vector_id, 32)) {
    return InvalidArgument(path + ": no vector_id (made by an older fl-worker finetune?); fine-tune again");
  }
  const std::string samples = Field(v.tau, "samples");
  char* end = nullptr;
  v.samples = std::strtoll(samples.c_str(), &end, 10);
  if (samples.empty() || *end != '\0' || v.samples < 1 || v.samples > (int64_t{1} << 40)) {
    return InvalidArgument(path + ": samples must be a positive integer, got \"" + samples.substr(0, 40) + "\"");
  }
  const std::string fraction = Field(v.tau, "validation_fraction");
  v.validation_fraction = std::strtod(fraction.c_str(), &end);
  if (fraction.empty() || *end != '\0' || !(v.validation_fraction >= 0 && v.validation_fraction < 1)) {
    return InvalidArgument(path + ": validation_fraction must be in [0, 1)");
  }
  FL_RETURN_IF_ERROR(CheckFinite(v.tau, path));
  return v;
}

}  // namespace fl::worker
