// Decoupled prediction for centres that annotate differently (personalization "decoupled";
// Gao, Li, Wu, Wang, Zhuang, "Decoupling Predictions in Distributed Learning for
// Multi-Center Left Atrial MRI Segmentation", MICCAI 2022, FedDAN). A 2-D U-Net gives
// per-pixel features; a small latent z (from a prior encoder p(z|x), or in training from a
// posterior encoder q(z|x,y)) joins them in 1x1 convolutions ("comb") that give the generic
// prediction p(y|x). The distribution-adaptation network ("dan", 1x1 convolutions over the
// features and z) gives, per pixel, a row-stochastic C x C matrix W, and the local
// prediction is W applied to the generic one. The U-Net, comb, prior and posterior are
// shared; dan is each centre's own.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fl/models/registry.h"

namespace fl::models {

struct DecoupledOptions {
  int64_t latent_dim = 8;
  double alpha = 0.01;  // weight of trace(W)
  double beta = 0.01;   // weight of KL(q(z|x,y) || p(z|x))
  double q = 0.7;       // the generalised cross-entropy L_q's exponent
};

// The training loss on a batch and its parts (means over the batch and its pixels).
struct DecoupledLoss {
  torch::Tensor total;     // local_ce + local_dice + lq + alpha * trace + beta * kl
  torch::Tensor local_ce;  // cross-entropy of the local prediction against the centre's labels
  torch::Tensor local_dice;  // soft Dice loss of the local prediction's foreground classes
  torch::Tensor lq;        // L_q of the generic prediction (noise-robust)
  torch::Tensor trace;     // mean per-pixel trace of W
  torch::Tensor kl;        // KL(q || p) of the latent, per sample
};

class DecoupledNet : public Net {
 public:
  // forward(x): the local prediction's log-probabilities [B, C, H, W] (z at the prior's
  // mean), or with set_local_prediction(false) the generic prediction's logits.
  void set_local_prediction(bool on) { local_ = on; }
  bool local_prediction() const { return local_; }
  // x [B, C_in, H, W], y int64 masks [B, H, W]; z drawn from the posterior.
  virtual DecoupledLoss Loss(const torch::Tensor& x, const torch::Tensor& y) = 0;
  // The adaptation matrices at the prior's mean: [B, C, C, H, W], W[b, j, i, h, w] the
  // probability of local class i given generic class j; rows sum to 1.
  virtual torch::Tensor Adaptation(const torch::Tensor& x) = 0;

 protected:
  bool local_ = true;
};

// The decoupled U-Net for 2-D images {C, H, W}: plan.channels and plan.depth as the U-Net's.
StatusOr<std::shared_ptr<DecoupledNet>> BuildDecoupledUNet(const ModelPlan& plan, const DecoupledOptions& options,
                                                           const std::vector<int64_t>& sample_shape,
                                                           int64_t num_classes);

}  // namespace fl::models
