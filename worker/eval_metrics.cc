#include "eval_metrics.h"

#include <cmath>
#include <cstdio>

#include "training/intervals.h"

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
  if (!std::isfinite(m.dice)) {  // classification: the accuracy is a share of samples
    const Interval a = WilsonInterval(m.accuracy * static_cast<double>(m.samples), static_cast<double>(m.samples));
    add("test_accuracy_low", a.low);
    add("test_accuracy_high", a.high);
  }
  add("test_auroc_low", m.auroc_low);
  add("test_auroc_high", m.auroc_high);
  add("test_dice_low", m.dice_low);
  add("test_dice_high", m.dice_high);
  add("test_samples", static_cast<double>(m.samples));
  for (const auto& [name, v] : m.robust) add(name, v);
  return out;
}

nlohmann::json TestMetricsJson(const EvalMetrics& m) {
  nlohmann::json j(TestMetrics(m));
  j["test_samples"] = m.samples;  // an integer in JSON
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
