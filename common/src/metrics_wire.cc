#include "fl/metrics_wire.h"

#include <cmath>

#include "fl/names.h"

namespace fl {

wire::Metrics MetricsToWire(const MetricMap& metrics) {
  wire::Metrics out;
  for (const auto& [name, value] : metrics) {
    if (std::isfinite(value)) (*out.mutable_values())[name] = value;
  }
  return out;
}

StatusOr<nlohmann::json> MetricsToJson(const wire::Metrics& m) {
  if (static_cast<size_t>(m.values_size()) > kMaxMetricEntries) return InvalidArgument("too many metrics");
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : m.values()) {
    if (!IsValidName(name)) return InvalidArgument("bad metric name");
    if (!std::isfinite(value)) return InvalidArgument("metric " + name + " is not finite");
    j[name] = value;
  }
  return j;
}

}  // namespace fl
