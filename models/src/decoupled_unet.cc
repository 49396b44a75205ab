#include "fl/models/decoupled.h"

#include <string>

#include "fl/models/losses.h"
#include "unet.h"

namespace fl::models {
namespace {

using internal::Groups;
using internal::UNet;
namespace nn = torch::nn;

// A diagonal Gaussian over z from an image (and, for the posterior, the label's foreground
// channels): three 3x3 conv + GroupNorm + LeakyReLU blocks (c, 2c, 4c channels, 2x average
// pooling between them), global average pooling, and a linear layer to the mean and the
// log standard deviation.
class GaussianEncoderImpl : public nn::Module {
 public:
  GaussianEncoderImpl(int64_t in, int64_t c, int64_t latent) : latent_(latent) {
    nn::Sequential seq;
    int64_t width = in;
    for (int64_t l = 0; l < 3; ++l) {
      const int64_t out = c << l;
      if (l > 0) seq->push_back(nn::AvgPool2d(nn::AvgPool2dOptions(2).ceil_mode(true)));
      seq->push_back(nn::Conv2d(nn::Conv2dOptions(width, out, 3).padding(1)));
      seq->push_back(nn::GroupNorm(nn::GroupNormOptions(Groups(out), out)));
      seq->push_back(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)));
      width = out;
    }
    blocks_ = register_module("blocks", seq);
    out_ = register_module("out", nn::Linear(width, 2 * latent));
  }
  // (mean, log standard deviation), each [B, latent].
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    const torch::Tensor h = torch::adaptive_avg_pool2d(blocks_->forward(x), {1, 1}).flatten(1);
    const torch::Tensor o = out_->forward(h);
    return {o.slice(1, 0, latent_), o.slice(1, latent_).clamp(-8.0, 4.0)};
  }

 private:
  int64_t latent_;
  nn::Sequential blocks_{nullptr};
  nn::Linear out_{nullptr};
};
TORCH_MODULE(GaussianEncoder);

// Three 1x1 convolutions with LeakyReLU between them, from `in` to `out` channels.
nn::Sequential PixelMlp(int64_t in, int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, in, 1)), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)),
                        nn::Conv2d(nn::Conv2dOptions(in, in, 1)), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)),
                        nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
}

class DecoupledUNet : public DecoupledNet {
 public:
  DecoupledUNet(int64_t in, int64_t classes, int64_t c, int64_t depth, double dropout, const DecoupledOptions& o)
      : classes_(classes), o_(o) {
    // The U-Net's 1x1 head gives c feature channels per pixel.
    unet_ = register_module("unet", std::make_shared<UNet>(in, c, c, depth, dropout, false));
    comb_ = register_module("comb", PixelMlp(c + o.latent_dim, classes));
    prior_ = register_module("prior", GaussianEncoder(in, c, o.latent_dim));
    posterior_ = register_module("posterior", GaussianEncoder(in + classes - 1, c, o.latent_dim));
    dan_ = register_module("dan", PixelMlp(c + o.latent_dim, classes * classes));
    // W starts close to the identity: a centre's labels are taken as they are until its
    // data says otherwise.
    torch::NoGradGuard no_grad;
    auto* last = dan_[4]->as<nn::Conv2d>();
    last->weight.mul_(0.1);
    last->bias.fill_(-4.0);
    for (int64_t j = 0; j < classes; ++j) last->bias[j * classes + j].fill_(4.0);
  }

  torch::Tensor forward(torch::Tensor x) override {
    const torch::Tensor features = unet_->forward(x);
    const torch::Tensor z = Tile(prior_->forward(x).first, features);
    const torch::Tensor logits = comb_->forward(torch::cat({features, z}, 1));
    if (!local_) return logits;
    const torch::Tensor local = Apply(Matrices(features, z), torch::softmax(logits, 1));
    return local.clamp_min(1e-7).log();
  }

  DecoupledLoss Loss(const torch::Tensor& x, const torch::Tensor& y) override {
    const torch::Tensor features = unet_->forward(x);
    const torch::Tensor fg = torch::one_hot(y, classes_).permute({0, 3, 1, 2}).slice(1, 1).to(x.scalar_type());
    const auto [mu_q, log_sd_q] = posterior_->forward(torch::cat({x, fg}, 1));
    const auto [mu_p, log_sd_p] = prior_->forward(x);
    const torch::Tensor z = Tile(mu_q + log_sd_q.exp() * torch::randn_like(mu_q), features);
    const torch::Tensor p = torch::softmax(comb_->forward(torch::cat({features, z}, 1)), 1);
    const torch::Tensor w = Matrices(features, z);
    DecoupledLoss l;
    const torch::Tensor local = Apply(w, p);
    l.local_ce = torch::nll_loss2d(local.clamp_min(1e-7).log(), y);
    l.local_dice = SoftDiceLoss(local, y, classes_);  // as in every segmentation loss here
    const torch::Tensor p_y = p.gather(1, y.unsqueeze(1)).squeeze(1);
    l.lq = ((1 - p_y.clamp_min(1e-7).pow(o_.q)) / o_.q).mean();
    l.trace = w.diagonal(0, 1, 2).sum(-1).mean();
    // KL between diagonal Gaussians, summed over the latent dimensions.
    const torch::Tensor var_q = (2 * log_sd_q).exp(), var_p = (2 * log_sd_p).exp();
    l.kl = (log_sd_p - log_sd_q + (var_q + (mu_q - mu_p).pow(2)) / (2 * var_p) - 0.5).sum(1).mean();
    l.total = l.local_ce + l.local_dice + l.lq + o_.alpha * l.trace + o_.beta * l.kl;
    return l;
  }

  torch::Tensor Adaptation(const torch::Tensor& x) override {
    const torch::Tensor features = unet_->forward(x);
    return Matrices(features, Tile(prior_->forward(x).first, features));
  }

  std::string head_module() const override { return "comb"; }
  std::string adaptation_module() const override { return "dan"; }

 private:
  // z [B, L] as a map [B, L, H, W] beside the features.
  static torch::Tensor Tile(const torch::Tensor& z, const torch::Tensor& features) {
    return z.unsqueeze(-1).unsqueeze(-1).expand({z.size(0), z.size(1), features.size(2), features.size(3)});
  }
  // Row-stochastic W [B, C, C, H, W] from the detached features and z: the adaptation
  // learns the centre's habits without reshaping the shared features.
  torch::Tensor Matrices(const torch::Tensor& features, const torch::Tensor& z) {
    const torch::Tensor raw = torch::softplus(dan_->forward(torch::cat({features, z}, 1).detach()));
    const torch::Tensor w = raw.view({raw.size(0), classes_, classes_, raw.size(2), raw.size(3)});
    return w / w.sum(2, true);
  }
  // The local prediction: local_i = sum_j p_j W[j, i], per pixel.
  static torch::Tensor Apply(const torch::Tensor& w, const torch::Tensor& p) { return (p.unsqueeze(2) * w).sum(1); }

  int64_t classes_;
  DecoupledOptions o_;
  std::shared_ptr<UNet> unet_;
  nn::Sequential comb_{nullptr}, dan_{nullptr};
  GaussianEncoder prior_{nullptr}, posterior_{nullptr};
};

}  // namespace

StatusOr<std::shared_ptr<DecoupledNet>> BuildDecoupledUNet(const ModelPlan& plan, const DecoupledOptions& options,
                                                           const std::vector<int64_t>& sample_shape,
                                                           int64_t num_classes) {
  if (plan.name != "unet") return InvalidArgument("decoupled prediction needs the unet model, not " + plan.name);
  if (sample_shape.size() != 3) {
    return InvalidArgument("decoupled prediction works on 2-D images or slices (C,H,W); this data has samples of rank " +
                           std::to_string(sample_shape.size()));
  }
  if (num_classes < 2) return InvalidArgument("segmentation needs at least 2 classes");
  if (options.latent_dim < 1 || options.latent_dim > 256) return InvalidArgument("latent_dim must be in 1..256");
  torch::manual_seed(plan.init_seed);
  try {
    return std::shared_ptr<DecoupledNet>(std::make_shared<DecoupledUNet>(sample_shape[0], num_classes, plan.channels,
                                                                         plan.depth, plan.dropout, options));
  } catch (const c10::Error& e) {
    return InvalidArgument(std::string("cannot build the decoupled U-Net: ") + e.what_without_backtrace());
  }
}

}  // namespace fl::models
