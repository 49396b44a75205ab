// The U-Net and its building blocks, shared by the registry's "unet" and the decoupled
// U-Net of personalization "decoupled" (internal to the models library).
#pragma once

#include <numeric>
#include <vector>

#include <torch/torch.h>

#include "fl/models/registry.h"

namespace fl::models::internal {

// GroupNorm groups for `channels`: up to 8, and always a divisor of the channel count
// (GroupNorm needs one), so any configured width works.
inline int64_t Groups(int64_t channels) { return channels <= 8 ? channels : std::gcd<int64_t>(8, channels); }

// U-Net (Ronneberger et al. 2015; 3-D as in Cicek et al. 2016) for segmentation: `depth`
// resolution levels of two (3x3[x3] conv, GroupNorm, ReLU) blocks with c, 2c, 4c, ...
// channels, 2x max-pooling on the way down, stride-2 transposed convolutions and skip
// concatenation on the way up, and a 1x1[x1] conv to per-pixel (per-voxel) class logits
// [B, K, H, W] ([B, K, D, H, W] for 3-D). Inputs of any size are zero-padded to a multiple
// of 2^(depth-1) along every spatial axis and the logits cropped back.
class DoubleConvImpl : public torch::nn::Module {
 public:
  DoubleConvImpl(int64_t in, int64_t out, bool three_d) {
    torch::nn::Sequential seq;
    for (int64_t i = 0; i < 2; ++i) {
      const int64_t from = i == 0 ? in : out;
      if (three_d) {
        seq->push_back(torch::nn::Conv3d(torch::nn::Conv3dOptions(from, out, 3).padding(1).bias(false)));
      } else {
        seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(from, out, 3).padding(1).bias(false)));
      }
      seq->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(out), out)));
      seq->push_back(torch::nn::ReLU());
    }
    seq_ = register_module("seq", seq);
  }
  torch::Tensor forward(torch::Tensor x) { return seq_->forward(x); }

 private:
  torch::nn::Sequential seq_{nullptr};
};
TORCH_MODULE(DoubleConv);

class UNet : public Net {
 public:
  UNet(int64_t in_channels, int64_t classes, int64_t c, int64_t depth, double dropout, bool three_d)
      : depth_(depth), dropout_(dropout), three_d_(three_d) {
    int64_t width = in_channels;
    for (int64_t l = 0; l < depth; ++l) {
      const int64_t out = c << l;
      down_->push_back(DoubleConv(width, out, three_d));
      width = out;
    }
    for (int64_t l = depth - 2; l >= 0; --l) {
      const int64_t out = c << l;
      if (three_d) {
        up_->push_back(torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(width, out, 2).stride(2)));
      } else {
        up_->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(width, out, 2).stride(2)));
      }
      merge_->push_back(DoubleConv(2 * out, out, three_d));
      width = out;
    }
    register_module("down", down_);
    register_module("up", up_);
    register_module("merge", merge_);
    if (three_d) {
      head3_ = register_module("head", torch::nn::Conv3d(torch::nn::Conv3dOptions(width, classes, 1)));
    } else {
      head_ = register_module("head", torch::nn::Conv2d(torch::nn::Conv2dOptions(width, classes, 1)));
    }
  }
  torch::Tensor forward(torch::Tensor x) override {
    const int64_t m = int64_t{1} << (depth_ - 1);
    // Zero-pad the end of every spatial axis to a multiple of m (pad lists the last axis first).
    std::vector<int64_t> sizes(x.sizes().begin() + 2, x.sizes().end()), pad;
    bool padded = false;
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
      const int64_t p = (m - *it % m) % m;
      pad.insert(pad.end(), {0, p});
      padded = padded || p != 0;
    }
    if (padded) x = torch::constant_pad_nd(x, pad, 0);
    std::vector<torch::Tensor> skips;
    for (int64_t l = 0; l < depth_; ++l) {
      if (l > 0) x = three_d_ ? torch::max_pool3d(x, 2) : torch::max_pool2d(x, 2);
      x = down_[l]->as<DoubleConv>()->forward(x);
      if (l < depth_ - 1) skips.push_back(x);
    }
    x = torch::dropout(x, dropout_, is_training());
    for (int64_t i = 0; i < depth_ - 1; ++i) {
      x = three_d_ ? up_[i]->as<torch::nn::ConvTranspose3d>()->forward(x)
                   : up_[i]->as<torch::nn::ConvTranspose2d>()->forward(x);
      x = merge_[i]->as<DoubleConv>()->forward(torch::cat({x, skips[skips.size() - 1 - i]}, 1));
    }
    x = three_d_ ? head3_->forward(x) : head_->forward(x);
    if (padded) {
      for (size_t a = 0; a < sizes.size(); ++a) x = x.slice(static_cast<int64_t>(a) + 2, 0, sizes[a]);
    }
    return x;
  }
  std::string head_module() const override { return "head"; }

 private:
  int64_t depth_;
  double dropout_;
  bool three_d_;
  torch::nn::ModuleList down_, up_, merge_;
  torch::nn::Conv2d head_{nullptr};
  torch::nn::Conv3d head3_{nullptr};
};

}  // namespace fl::models::internal
