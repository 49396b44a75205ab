// Models by name, and the mapping between a module and its flat parameter vector.
// Only this library and worker/training include LibTorch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/status.h"

namespace fl::models {

// A classifier maps a batch [B, *sample_shape] to logits [B, num_classes]; a segmentation
// model maps [B, C, H, W] to per-pixel logits [B, num_classes, H, W], or volumes
// [B, C, D, H, W] to per-voxel logits [B, num_classes, D, H, W].
class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // The name of the output layer: the module mapping the last features to class logits.
  virtual std::string head_module() const = 0;
  // The name of a module that adapts the prediction to one centre (decoupled.h), or "".
  virtual std::string adaptation_module() const { return ""; }
};

// Builds the model named in `plan` for inputs of `sample_shape` ({F} for tables,
// {C,H,W} for images, {C,D,H,W} for volumes: "unet" is then a 3-D U-Net) and
// `num_classes` outputs, with weights drawn from plan.init_seed.
StatusOr<std::shared_ptr<Net>> BuildModel(const ModelPlan& plan, const std::vector<int64_t>& sample_shape,
                                          int64_t num_classes);

// Names of the registered models.
std::vector<std::string> ModelNames();
// True for models that output per-pixel logits (they need segmentation data).
bool IsSegmentationModel(const std::string& name);

// What a parameter belongs to, for personal models: a normalisation layer (GroupNorm), or
// the output head (Net::head_module).
struct TensorRole {
  bool normalization = false;
  bool head = false;
  bool adaptation = false;  // Net::adaptation_module's
};
// One role per parameter, in parameter order.
std::vector<TensorRole> Roles(Net& net);

// Trainable parameters, in registration order, as a flat float32 vector.
ModelLayout Layout(Net& net);
std::vector<float> Flatten(Net& net);
Status Unflatten(Net& net, const std::vector<float>& values);

}  // namespace fl::models
