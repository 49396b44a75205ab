// A model's test metrics under the names every report uses (test_loss, test_accuracy,
// test_auroc, test_dice, test_iou, robust_*): the masked input's and the final report's
// wire metrics, and the JSON of fl-worker local and evaluate. Metrics that do not apply
// (NaN) are left out.
#pragma once

#include <nlohmann/json.hpp>

#include "fl/metrics_wire.h"
#include "training/trainer.h"

namespace fl::worker {

MetricMap TestMetrics(const EvalMetrics& m);
// TestMetrics plus test_samples, as JSON.
nlohmann::json TestMetricsJson(const EvalMetrics& m);
// "Dice 0.8123, IoU 0.7012" for segmentation, "accuracy 0.9123, AUROC 0.9567" otherwise.
std::string TestSummary(const EvalMetrics& m);

}  // namespace fl::worker
