// fl-train-bench: training throughput (samples/s) of the worker's Trainer against a bare
// LibTorch loop on the same model, data, batch size and optimiser, measured in the same
// run with the two interleaved (these machines are noisy, so the ratio is what counts).
//
//   fl-train-bench [--data-dir ../shared/data] [--steps 40] [--repeats 3] [--threads 0]
//
// Workloads: the ResNet on PneumoniaMNIST (28x28 grey, batch 64), the U-Net on left-atrium
// axial slices (96x80, batch 16) and the 3-D U-Net on whole left-atrium volumes resampled to
// 2.5 mm (48x40x24, batch 2, a quarter of the steps), each skipped with a message when its
// data is missing.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "data/npz_loader.h"
#include "data/segmentation_data.h"
#include "fl/cli.h"
#include "fl/models/registry.h"
#include "training/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }

// The loop a researcher would write: shuffled mini-batches from tensors in memory, forward,
// loss, backward, Adam step. Same loss as the worker (CE, plus soft Dice for masks).
double BareLoop(const fl::Plan& plan, const fl::data::Dataset& d, int64_t steps) {
  auto net = *fl::models::BuildModel(plan.model, d.sample_shape, d.num_classes);
  const int64_t n = static_cast<int64_t>(d.size());
  std::vector<int64_t> shape = {n};
  shape.insert(shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  const torch::Tensor x = torch::from_blob(const_cast<float*>(d.features.data()), shape).clone();
  const bool seg = d.segmentation();
  std::vector<int64_t> mask_shape = {n};
  mask_shape.insert(mask_shape.end(), d.mask_shape.begin(), d.mask_shape.end());
  const torch::Tensor y =
      seg ? torch::from_blob(const_cast<uint8_t*>(d.masks.data()), mask_shape, torch::kUInt8).clone()
          : torch::from_blob(const_cast<int64_t*>(d.labels.data()), {n}, torch::kInt64).clone();
  // Soft Dice over the batch and every spatial axis: one-hot [B, *S, K] -> [B, K, *S].
  std::vector<int64_t> order = {0, static_cast<int64_t>(mask_shape.size())}, reduce = {0};
  for (int64_t a = 1; a < static_cast<int64_t>(mask_shape.size()); ++a) {
    order.push_back(a);
    reduce.push_back(a + 1);
  }
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(plan.training.learning_rate));
  net->train();
  const int64_t bs = plan.training.batch_size;
  torch::Tensor perm = torch::randperm(n);
  int64_t off = 0;
  const auto start = Clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    if (off + bs > n) perm = torch::randperm(n), off = 0;
    const torch::Tensor idx = perm.slice(0, off, off + bs);
    off += bs;
    const torch::Tensor xb = x.index_select(0, idx);
    const torch::Tensor yb = y.index_select(0, idx).to(torch::kInt64);
    const torch::Tensor logits = net->forward(xb);
    torch::Tensor loss = torch::nn::functional::cross_entropy(logits, yb);
    if (seg) {
      const torch::Tensor p = torch::softmax(logits, 1).slice(1, 1);
      const torch::Tensor t = torch::nn::functional::one_hot(yb, d.num_classes).permute(order).slice(1, 1).to(p.scalar_type());
      loss = loss + (1 - (2 * (p * t).sum(reduce) + 1) / (p.sum(reduce) + t.sum(reduce) + 1)).mean();
    }
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  return static_cast<double>(steps * bs) / Seconds(start);
}

double WorkerLoop(const fl::Plan& plan, const fl::data::Dataset& d, int64_t steps) {
  fl::Plan p = plan;
  p.training.steps = steps;
  fl::data::Split split{d, fl::data::Subset(d, {})};
  auto t = fl::worker::Trainer::Create(p, std::move(split), fl::worker::DeviceOptions{"cpu", 0}, 1);
  if (!t.ok()) {
    std::fprintf(stderr, "fl-train-bench: %s\n", t.status().message().c_str());
    std::exit(1);
  }
  auto stats = (*t)->Train(0);
  if (!stats.ok()) {
    std::fprintf(stderr, "fl-train-bench: %s\n", stats.status().message().c_str());
    std::exit(1);
  }
  return static_cast<double>(stats->samples) / stats->seconds;
}

void Run(const char* name, const fl::Plan& plan, const fl::data::Dataset& d, int64_t steps, int repeats) {
  std::vector<double> bare, worker, ratio;
  BareLoop(plan, d, std::max<int64_t>(2, steps / 10));  // warm-up (allocator, thread pool)
  for (int r = 0; r < repeats; ++r) {
    bare.push_back(BareLoop(plan, d, steps));
    worker.push_back(WorkerLoop(plan, d, steps));
    ratio.push_back(worker.back() / bare.back());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("%-40s %10.1f %10.1f %8.3f   (%d repeats x %lld steps, batch %lld)\n", name, median(bare),
              median(worker), median(ratio), repeats, static_cast<long long>(steps),
              static_cast<long long>(plan.training.batch_size));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<fl::FlagSpec> flags = {
      {"data-dir", true, "the shared medical datasets (default ../shared/data)"},
      {"steps", true, "training steps per measurement (default 40)"},
      {"repeats", true, "interleaved bare/worker measurements; the median is reported (default 3)"},
      {"threads", true, "LibTorch CPU threads (default: LibTorch's choice)"},
      {"help", false, "show this help"},
  };
  auto args = fl::ParseArgs(argc, argv, 1, flags);
  if (!args.ok() || args->Has("help")) {
    std::fprintf(stderr, "Usage: fl-train-bench [options]\n%s", fl::FormatFlags(flags).c_str());
    return args.ok() ? 0 : 2;
  }
  const std::string dir = args->Get("data-dir", "../shared/data");
  int64_t steps = 40;
  int repeats = 3;
  try {
    steps = std::stoll(args->Get("steps", "40"));
    repeats = std::stoi(args->Get("repeats", "3"));
    if (args->Has("threads")) torch::set_num_threads(std::stoi(args->Get("threads")));
  } catch (...) {
    std::fprintf(stderr, "fl-train-bench: --steps, --repeats and --threads take integers\n");
    return 2;
  }
  if (steps < 1 || repeats < 1) return 2;
  std::printf("CPU threads: %d\n", torch::get_num_threads());
  std::printf("%-40s %10s %10s %8s\n", "workload", "bare/s", "worker/s", "ratio");

  fl::data::NpzOptions npz;
  npz.path = dir + "/pneumoniamnist/pneumoniamnist.npz";
  if (auto s = fl::data::LoadNpz(npz); s.ok()) {
    fl::Plan plan;
    plan.model.name = "resnet";
    plan.model.channels = 16;
    plan.training.batch_size = 64;
    plan.training.learning_rate = 0.005;
    Run("resnet, PneumoniaMNIST 28x28", plan, s->train, steps, repeats);
  } else {
    std::printf("skipped resnet workload: %s\n", s.status().message().c_str());
  }

  fl::data::NiftiOptions nii;
  nii.dir = dir + "/left_atrium/volumes";
  nii.train_list = dir + "/left_atrium/test.list";
  nii.crop = {96, 80};
  nii.slice_stride = 2;
  if (auto s = fl::data::LoadNiftiSplit(nii); s.ok()) {
    fl::Plan plan;
    plan.model.name = "unet";
    plan.model.channels = 8;
    plan.model.depth = 4;
    plan.training.batch_size = 16;
    plan.training.learning_rate = 0.003;
    Run("unet, left-atrium slices 96x80", plan, s->train, steps, repeats);
  } else {
    std::printf("skipped unet workload: %s\n", s.status().message().c_str());
  }

  nii.slice_stride = 1;
  nii.volumes = true;
  nii.spacing = {2.5, 2.5, 2.5};
  nii.crop = {48, 40, 24};
  if (auto s = fl::data::LoadNiftiSplit(nii); s.ok()) {
    fl::Plan plan;
    plan.model.name = "unet";
    plan.model.channels = 8;
    plan.model.depth = 3;
    plan.training.batch_size = 2;
    plan.training.learning_rate = 0.003;
    Run("unet 3-D, left-atrium volumes 48x40x24", plan, s->train, std::max<int64_t>(2, steps / 4), repeats);
  } else {
    std::printf("skipped 3-D unet workload: %s\n", s.status().message().c_str());
  }
  return 0;
}
