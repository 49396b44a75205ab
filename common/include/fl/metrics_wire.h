// Metrics between processes: a worker's test and training figures travel as a
// wire::Metrics map (name -> finite double) and the coordinator records them as JSON.
// The one conversion each way, with the checks a message from a peer needs.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "fl.pb.h"
#include "fl/status.h"

namespace fl {

using MetricMap = std::map<std::string, double>;

constexpr size_t kMaxMetricEntries = 64;

// Non-finite values (a metric that does not apply, such as AUROC with one class) are left out.
wire::Metrics MetricsToWire(const MetricMap& metrics);
// A peer's metrics as a JSON object; fails on too many entries, a name outside the name
// rule (fl/names.h) or a non-finite value.
StatusOr<nlohmann::json> MetricsToJson(const wire::Metrics& metrics);

}  // namespace fl
