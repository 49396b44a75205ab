#include "eval_metrics.h"

#include <cmath>
#include <cstdio>

namespace fl::worker {

MetricMap TestMetrics(const EvalMetrics& m) {
  MetricMap out;
  auto add = [&](const std::string& name, double v) {
    if (std::isfinite(v)) out[name] = v;
  };
  add("test_loss", m.loss);
  add("test_accuracy", m.accuracy);
  add("test_auroc", m.auroc);
  add("test_dice", m.dice);
  add("test_iou", m.iou);
  for (const auto& [name, v] : m.robust) add(name, v);
  return out;
}

nlohmann::json TestMetricsJson(const EvalMetrics& m) {
  nlohmann::json j(TestMetrics(m));
  j["test_samples"] = m.samples;
  return j;
}

std::string TestSummary(const EvalMetrics& m) {
  char text[96];
  if (std::isfinite(m.dice)) {
    std::snprintf(text, sizeof text, "Dice %.4f, IoU %.4f", m.dice, m.iou);
  } else {
    std::snprintf(text, sizeof text, "accuracy %.4f, AUROC %.4f", m.accuracy, m.auroc);
  }
  return text;
}

}  // namespace fl::worker
