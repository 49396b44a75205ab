#include "fl/models/registry.h"

#include "unet.h"

#include <cstring>
#include <numeric>
#include <set>

namespace fl::models {
namespace {

using internal::Groups;
using internal::UNet;

// Logistic regression: one linear layer on the flattened input.
class LogReg : public Net {
 public:
  LogReg(int64_t in, int64_t classes) : fc_(register_module("fc", torch::nn::Linear(in, classes))) {}
  torch::Tensor forward(torch::Tensor x) override { return fc_->forward(x.flatten(1)); }
  std::string head_module() const override { return "fc"; }

 private:
  torch::nn::Linear fc_;
};

// Multi-layer perceptron with ReLU and optional dropout before the output layer.
class Mlp : public Net {
 public:
  Mlp(int64_t in, const std::vector<int64_t>& hidden, int64_t classes, double dropout) : dropout_(dropout) {
    int64_t width = in;
    for (size_t i = 0; i < hidden.size(); ++i) {
      layers_.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(width, hidden[i])));
      width = hidden[i];
    }
    out_ = register_module("out", torch::nn::Linear(width, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = x.flatten(1);
    for (auto& l : layers_) x = torch::relu(l->forward(x));
    x = torch::dropout(x, dropout_, is_training());
    return out_->forward(x);
  }
  std::string head_module() const override { return "out"; }

 private:
  std::vector<torch::nn::Linear> layers_;
  torch::nn::Linear out_{nullptr};
  double dropout_;
};

// Small CNN for low-resolution images (e.g. 28x28 MedMNIST): two conv blocks
// (3x3 conv, GroupNorm, ReLU, 2x2 max-pool), global average pooling, two linear layers.
// GroupNorm instead of BatchNorm: it has no running statistics, so every state
// variable is a parameter that FedAvg averages.
class SmallCnn : public Net {
 public:
  SmallCnn(int64_t in_channels, int64_t classes, int64_t c, double dropout) : dropout_(dropout) {
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, c, 3).padding(1)));
    norm1_ = register_module("norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(c), c)));
    conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 2 * c, 3).padding(1)));
    norm2_ = register_module("norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(2 * c), 2 * c)));
    conv3_ = register_module("conv3", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * c, 4 * c, 3).padding(1)));
    norm3_ = register_module("norm3", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(4 * c), 4 * c)));
    fc_ = register_module("fc", torch::nn::Linear(4 * c, 4 * c));
    out_ = register_module("out", torch::nn::Linear(4 * c, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(norm1_->forward(conv1_->forward(x))), 2);
    x = torch::max_pool2d(torch::relu(norm2_->forward(conv2_->forward(x))), 2);
    x = torch::relu(norm3_->forward(conv3_->forward(x)));
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    x = torch::relu(fc_->forward(x));
    x = torch::dropout(x, dropout_, is_training());
    return out_->forward(x);
  }
  std::string head_module() const override { return "out"; }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr}, norm3_{nullptr};
  torch::nn::Linear fc_{nullptr}, out_{nullptr};
  double dropout_;
};

// ResNet-style classifier for grayscale or RGB images of any size: a 3x3 stem, three
// stages of two basic residual blocks (c, 2c, 4c channels; the last two stages halve the
// resolution), global average pooling and a linear layer. GroupNorm, as in SmallCnn.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    norm1_ = register_module("norm1", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(out), out)));
    conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    norm2_ = register_module("norm2", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(out), out)));
    if (stride != 1 || in != out) {
      skip_ = register_module("skip", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
      skip_norm_ = register_module("skip_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(out), out)));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = torch::relu(norm1_->forward(conv1_->forward(x)));
    y = norm2_->forward(conv2_->forward(y));
    const torch::Tensor s = skip_ ? skip_norm_->forward(skip_->forward(x)) : x;
    return torch::relu(y + s);
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr}, skip_norm_{nullptr};
};
TORCH_MODULE(BasicBlock);

class ResNet : public Net {
 public:
  ResNet(int64_t in_channels, int64_t classes, int64_t c, double dropout) : dropout_(dropout) {
    stem_ = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, c, 3).padding(1).bias(false)));
    stem_norm_ = register_module("stem_norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(Groups(c), c)));
    int64_t width = c;
    const int64_t widths[3] = {c, 2 * c, 4 * c};
    for (int s = 0; s < 3; ++s) {
      for (int b = 0; b < 2; ++b) {
        const int64_t stride = (s > 0 && b == 0) ? 2 : 1;
        blocks_->push_back(BasicBlock(width, widths[s], stride));
        width = widths[s];
      }
    }
    register_module("blocks", blocks_);
    fc_ = register_module("fc", torch::nn::Linear(width, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(stem_norm_->forward(stem_->forward(x)));
    x = blocks_->forward(x);
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    x = torch::dropout(x, dropout_, is_training());
    return fc_->forward(x);
  }
  std::string head_module() const override { return "fc"; }

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::GroupNorm stem_norm_{nullptr};
  torch::nn::Sequential blocks_;
  torch::nn::Linear fc_{nullptr};
  double dropout_;
};

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

}  // namespace

std::vector<std::string> ModelNames() { return {"logreg", "mlp", "cnn", "resnet", "unet"}; }

bool IsSegmentationModel(const std::string& name) { return name == "unet"; }

StatusOr<std::shared_ptr<Net>> BuildModel(const ModelPlan& plan, const std::vector<int64_t>& sample_shape,
                                          int64_t num_classes) {
  if (num_classes < 2) return InvalidArgument("a classifier needs at least 2 classes, the data has " + std::to_string(num_classes));
  if (sample_shape.empty() || Numel(sample_shape) <= 0) return InvalidArgument("empty sample shape");
  torch::manual_seed(plan.init_seed);
  try {
    if (plan.name == "logreg") return std::shared_ptr<Net>(std::make_shared<LogReg>(Numel(sample_shape), num_classes));
    if (plan.name == "mlp") {
      std::vector<int64_t> hidden(plan.hidden.begin(), plan.hidden.end());
      return std::shared_ptr<Net>(std::make_shared<Mlp>(Numel(sample_shape), hidden, num_classes, plan.dropout));
    }
    if (plan.name == "unet" && sample_shape.size() == 4) {  // volumes {C, D, H, W}: 3-D U-Net
      return std::shared_ptr<Net>(
          std::make_shared<UNet>(sample_shape[0], num_classes, plan.channels, plan.depth, plan.dropout, true));
    }
    if (plan.name == "cnn" || plan.name == "resnet" || plan.name == "unet") {
      if (sample_shape.size() != 3) {
        return InvalidArgument("model " + plan.name + " needs image data (C,H,W" +
                               std::string(plan.name == "unet" ? ", or C,D,H,W volumes" : "") +
                               "); this data has samples of rank " +
                               std::to_string(sample_shape.size()));
      }
      if (plan.name == "unet") {
        return std::shared_ptr<Net>(
            std::make_shared<UNet>(sample_shape[0], num_classes, plan.channels, plan.depth, plan.dropout, false));
      }
      if (plan.name == "resnet") {
        return std::shared_ptr<Net>(std::make_shared<ResNet>(sample_shape[0], num_classes, plan.channels, plan.dropout));
      }
      return std::shared_ptr<Net>(std::make_shared<SmallCnn>(sample_shape[0], num_classes, plan.channels, plan.dropout));
    }
  } catch (const c10::Error& e) {
    return InvalidArgument("cannot build model " + plan.name + ": " + e.what_without_backtrace());
  }
  return InvalidArgument("unknown model '" + plan.name + "'");
}

std::vector<TensorRole> Roles(Net& net) {
  std::set<std::string> norms;
  for (const auto& m : net.named_modules("", /*include_self=*/false)) {
    if (!m.value()->as<torch::nn::GroupNorm>()) continue;
    for (const auto& p : m.value()->named_parameters(/*recurse=*/false)) norms.insert(m.key() + "." + p.key());
  }
  const std::string head = net.head_module() + ".", adapt = net.adaptation_module() + ".";
  std::vector<TensorRole> roles;
  for (const auto& p : net.named_parameters(/*recurse=*/true)) {
    roles.push_back({norms.count(p.key()) > 0, p.key().compare(0, head.size(), head) == 0,
                     adapt.size() > 1 && p.key().compare(0, adapt.size(), adapt) == 0});
  }
  return roles;
}

ModelLayout Layout(Net& net) {
  ModelLayout layout;
  for (const auto& p : net.named_parameters(/*recurse=*/true)) {
    TensorInfo t;
    t.name = p.key();
    for (int64_t s : p.value().sizes()) t.shape.push_back(static_cast<uint64_t>(s));
    layout.tensors.push_back(std::move(t));
  }
  return layout;
}

std::vector<float> Flatten(Net& net) {
  std::vector<float> out;
  for (const auto& p : net.named_parameters(true)) {
    torch::Tensor t = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    const float* d = t.data_ptr<float>();
    out.insert(out.end(), d, d + t.numel());
  }
  return out;
}

Status Unflatten(Net& net, const std::vector<float>& values) {
  size_t need = 0;
  for (const auto& p : net.named_parameters(true)) need += static_cast<size_t>(p.value().numel());
  if (need != values.size()) {
    return InvalidArgument("model has " + std::to_string(need) + " parameters, vector has " + std::to_string(values.size()));
  }
  torch::NoGradGuard no_grad;
  size_t off = 0;
  for (auto& p : net.named_parameters(true)) {
    torch::Tensor& t = p.value();
    torch::Tensor src = torch::from_blob(const_cast<float*>(values.data() + off), t.sizes(), torch::kFloat32);
    t.copy_(src);
    off += static_cast<size_t>(t.numel());
  }
  return Status::Ok();
}

}  // namespace fl::models
