// LibTorch perturbations of input batches: training-time augmentation and PGD adversarial samples.
#include "training/augment.h"

#include <cmath>

#include "training/pgd.h"

namespace fl::worker {
namespace {

// Separable Gaussian smoothing of a [B, 2, H, W] field (reflect-free: zero padding).
torch::Tensor Smooth(const torch::Tensor& field, double sigma) {
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(2.5 * sigma)));
  const torch::Tensor t = torch::arange(-radius, radius + 1, field.options());
  torch::Tensor k = torch::exp(-(t * t) / (2 * sigma * sigma));
  k = k / k.sum();
  const int64_t c = field.size(1);
  namespace F = torch::nn::functional;
  torch::Tensor out = F::conv2d(field, k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1}),
                                F::Conv2dFuncOptions().padding({0, radius}).groups(c));
  return F::conv2d(out, k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1}), F::Conv2dFuncOptions().padding({radius, 0}).groups(c));
}

}  // namespace

Augmented Augment(const AugmentationPlan& a, const torch::Tensor& x, const torch::Tensor& mask, double lo, double hi) {
  if (a.probability <= 0) return {x, mask};
  if (x.dim() == 5) {
    // Volumes [B, C, D, H, W]: one in-plane transform per volume, applied to all its slices
    // alike (the D slices ride along as channels), so the volume stays coherent along D.
    const auto s = x.sizes();
    Augmented r = Augment(a, x.reshape({s[0], s[1] * s[2], s[3], s[4]}), mask, lo, hi);
    return {r.x.reshape(s), r.mask};
  }
  if (x.dim() != 4) return {x, mask};
  namespace F = torch::nn::functional;
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  const auto opts = x.options();
  const torch::Tensor chosen = torch::rand({b}, opts) < a.probability;
  const torch::Tensor pick = chosen.to(x.scalar_type());

  // Rotation (in pixel space, so non-square images are not sheared) and flip, as the
  // inverse map from output to input in normalised coordinates.
  const torch::Tensor angle = (torch::rand({b}, opts) * 2 - 1) * (a.rotation_deg * M_PI / 180.0) * pick;
  torch::Tensor sx = torch::ones({b}, opts);
  if (a.flip) sx = torch::where((torch::rand({b}, opts) < 0.5) & chosen, -sx, sx);
  const torch::Tensor cs = torch::cos(angle), sn = torch::sin(angle);
  const double hw = static_cast<double>(h) / static_cast<double>(w), wh = static_cast<double>(w) / static_cast<double>(h);
  const torch::Tensor zero = torch::zeros({b}, opts);
  const torch::Tensor theta = torch::stack({torch::stack({cs * sx, -sn * hw, zero}, 1),
                                            torch::stack({sn * wh * sx, cs, zero}, 1)},
                                           1);
  torch::Tensor grid = F::affine_grid(theta, {b, x.size(1), h, w}, /*align_corners=*/false);
  if (a.elastic_alpha > 0) {
    torch::Tensor field = Smooth(torch::randn({b, 2, h, w}, opts), a.elastic_sigma);
    field = field / (field.flatten(1).std(1).clamp_min(1e-8).view({b, 1, 1, 1}));
    // Pixels to normalised units: x spans 2 over w pixels, y over h.
    const torch::Tensor scale = torch::tensor({2.0 / static_cast<double>(w), 2.0 / static_cast<double>(h)}, opts).view({1, 2, 1, 1});
    field = field * scale * a.elastic_alpha * pick.view({b, 1, 1, 1});
    grid = grid + field.permute({0, 2, 3, 1});
  }
  torch::Tensor out = F::grid_sample(x, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
  if (a.noise_std > 0) out = (out + torch::randn_like(out) * a.noise_std).clamp(lo, hi);
  const torch::Tensor keep = chosen.view({b, 1, 1, 1});
  out = torch::where(keep, out, x);
  torch::Tensor out_mask = mask;
  if (mask.defined()) {
    // [B, H, W] masks, or [B, D, H, W] for volumes (the slices as channels).
    const bool volume = mask.dim() == 4;
    torch::Tensor m = F::grid_sample((volume ? mask : mask.unsqueeze(1)).to(x.scalar_type()), grid,
                                     F::GridSampleFuncOptions().mode(torch::kNearest).padding_mode(torch::kZeros).align_corners(false));
    if (!volume) m = m.squeeze(1);
    m = m.round().to(mask.scalar_type());
    out_mask = torch::where(volume ? chosen.view({b, 1, 1, 1}) : chosen.view({b, 1, 1}), m, mask);
  }
  return {out, out_mask};
}

torch::Tensor PgdAttack(models::Net& net, const torch::Tensor& x, const torch::Tensor& y, const PgdOptions& o) {
  // The attack differentiates with respect to the input only.
  std::vector<torch::Tensor> params = net.parameters();
  std::vector<bool> required;
  for (auto& p : params) {
    required.push_back(p.requires_grad());
    p.requires_grad_(false);
  }
  const torch::Tensor x0 = x.detach();
  auto project = [&](const torch::Tensor& a) {
    return torch::min(torch::max(a, x0 - o.eps), x0 + o.eps).clamp(o.lo, o.hi);
  };
  torch::Tensor adv = x0.clone();
  if (o.random_start && o.eps > 0) adv = project(adv + torch::empty_like(adv).uniform_(-o.eps, o.eps));
  for (int64_t k = 0; k < o.steps; ++k) {
    adv = adv.detach().requires_grad_(true);
    // Cross-entropy over classes, or over pixels for a segmentation model's [B, K, H, W].
    const torch::Tensor loss = torch::nn::functional::cross_entropy(net.forward(adv), y);
    const torch::Tensor grad = torch::autograd::grad({loss}, {adv})[0];
    adv = project(adv.detach() + o.alpha * grad.sign());
  }
  for (size_t i = 0; i < params.size(); ++i) params[i].requires_grad_(required[i]);
  return adv.detach();
}

}  // namespace fl::worker
