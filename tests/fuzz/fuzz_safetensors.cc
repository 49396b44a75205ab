// Fuzz target: a checkpoint file (an init_checkpoint, a state_dir checkpoint, a model a
// worker evaluates): DecodeSafetensors, then the checks its readers apply.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fl/config_reader.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  StatusOr<Checkpoint> c = DecodeSafetensors(bytes, "fuzz.safetensors");
  if (!c.ok()) return 0;
  FUZZ_CHECK(c->layout.dimension() == c->values.size());
  (void)CheckFinite(*c, "fuzz.safetensors");
  (void)c->layout.Validate(100'000'000);
  FUZZ_CHECK(CheckSameLayout(c->layout, c->layout, "itself").ok());
  ModelLayout other;
  other.tensors.push_back({"linear.weight", {2, 30}});
  (void)CheckSameLayout(other, c->layout, "fuzz.safetensors");
  // Its metadata names the plan it was trained with (fl-worker evaluate and predict).
  const auto plan = c->metadata.find("plan");
  if (plan != c->metadata.end()) {
    StatusOr<nlohmann::json> j = ParseJsonText(plan->second, "plan");
    if (j.ok()) (void)ParsePlan(*j, "plan");
  }
  // What decoded must encode and decode to the same values.
  StatusOr<Checkpoint> again = DecodeSafetensors(EncodeSafetensors(*c), "round trip");
  FUZZ_CHECK(again.ok() && again->values.size() == c->values.size() && again->metadata == c->metadata &&
        again->layout.tensors.size() == c->layout.tensors.size());
  return 0;
}
