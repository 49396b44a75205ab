// Fuzz target: a JSON configuration file. The text goes through ParseJsonText (comments
// allowed, nesting limited) and then through every reader of a config: the coordinator's
// options, the worker's options, fl-prep's spec and the training plan (alone and as the
// "plan" member).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fl/config_reader.h"
#include "fl/plan.h"
#include "coordinator/options.h"
#include "prep/prep.h"
#include "worker/options.h"  // needs no LibTorch: only headers of worker/training
#include "fuzz_input.h"

namespace {


// A plan that parsed turns into JSON that parses to the same plan.
void RoundTrip(const fl::Plan& p) {
  const nlohmann::json j = fl::PlanToJson(p);
  fl::StatusOr<fl::Plan> again = fl::ParsePlan(j, "round trip");
  FUZZ_CHECK(again.ok() && fl::PlanToJson(*again) == j);
  (void)fl::ModelMetadata(p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  const std::string text(reinterpret_cast<const char*>(data), size);
  StatusOr<nlohmann::json> j = ParseJsonText(text, "fuzz.json");
  if (!j.ok()) return 0;
  StatusOr<coordinator::CoordinatorOptions> c = coordinator::ParseCoordinatorOptions(*j, "fuzz.json");
  if (c.ok()) RoundTrip(c->plan);
  StatusOr<worker::WorkerOptions> w = worker::ParseWorkerOptions(*j, "fuzz.json");
  if (w.ok()) (void)worker::TrainingSeed(*w, 1);
  (void)prep::ParseSpec(*j, "fuzz.json");
  StatusOr<Plan> p = ParsePlan(*j, "fuzz.json");
  if (p.ok()) RoundTrip(*p);
  if (j->is_object() && j->contains("plan")) {
    StatusOr<Plan> inner = ParsePlan((*j)["plan"], "fuzz.json plan");
    if (inner.ok()) RoundTrip(*inner);
  }
  return 0;
}
