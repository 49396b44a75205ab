#include "training/evaluation.h"

#include <algorithm>
#include <cmath>

#include "training/intervals.h"
#include "training/metrics.h"
#include "training/pgd.h"
#include "training/trainer_plan.h"

namespace fl::worker {

namespace F = torch::nn::functional;

EvalMetrics ScoreModel(models::Net& net, const TestTensors& test, double eps, int64_t robust_steps) {
  net.eval();
  const int64_t n = test.x.size(0);
  EvalMetrics m;
  m.samples = n;
  m.auroc = m.dice = m.iou = std::nan("");
  if (n == 0) return m;
  const int64_t k = robust_steps;
  const PgdOptions o{eps, 2.5 * eps / static_cast<double>(k), k, true, test.lo, test.hi};
  // PGD's random starts: the same for every evaluation of the same model.
  if (eps > 0) torch::manual_seed(0x5eed);
  std::vector<float> probs;
  SegmentationScorer scorer(test.num_classes);
  double loss_sum = 0, units = 0;
  int64_t correct = 0;
  const int64_t batch = EvaluationBatchSize(test.segmentation, test.x[0].numel());
  for (int64_t off = 0; off < n; off += batch) {
    torch::Tensor x = test.x.slice(0, off, std::min(n, off + batch));
    const torch::Tensor y = test.y.slice(0, off, std::min(n, off + batch)).to(torch::kInt64);
    if (eps > 0) x = PgdAttack(net, x, y, o);
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = net.forward(x);
    loss_sum += F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
    const torch::Tensor pred = logits.argmax(1);
    correct += pred.eq(y).sum().item<int64_t>();
    units += static_cast<double>(y.numel());
    if (test.segmentation) {
      const torch::Tensor p8 = pred.to(torch::kUInt8).to(torch::kCPU).contiguous();
      const torch::Tensor t8 = y.to(torch::kUInt8).to(torch::kCPU).contiguous();
      const int64_t pixels = p8[0].numel();
      for (int64_t i = 0; i < p8.size(0); ++i) {
        scorer.Add(p8.data_ptr<uint8_t>() + i * pixels, t8.data_ptr<uint8_t>() + i * pixels, pixels,
                   test.cases[static_cast<size_t>(off + i)]);
      }
    } else if (eps == 0) {
      const torch::Tensor p = torch::softmax(logits, 1).to(torch::kCPU).contiguous();
      probs.insert(probs.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
    }
  }
  m.loss = loss_sum / units;
  m.accuracy = static_cast<double>(correct) / units;
  if (test.segmentation) {
    m.dice = scorer.MeanDice();
    m.iou = scorer.MeanIoU();
    const Interval ci = MeanInterval(scorer.CaseDice());
    m.dice_low = ci.low, m.dice_high = ci.high;
  } else if (eps == 0) {
    const torch::Tensor labels_cpu = test.y.to(torch::kCPU).contiguous();
    std::vector<int64_t> labels(labels_cpu.data_ptr<int64_t>(), labels_cpu.data_ptr<int64_t>() + n);
    m.auroc = MacroAuroc(probs, labels, test.num_classes);
    const Interval ci = AurocInterval(probs, labels, test.num_classes);
    m.auroc_low = ci.low, m.auroc_high = ci.high;
  }
  return m;
}

}  // namespace fl::worker
