// The training plan: what every worker trains in a federation. It is written once in
// the coordinator's config, validated there at start-up, and sent to each worker in
// WELCOME as JSON (the coordinator never builds the model itself).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"
#include "fl/status.h"

namespace fl {

struct ModelPlan {
  // "logreg" | "mlp" (tables) | "cnn" | "resnet" (image classification) | "unet" (segmentation)
  std::string name = "mlp";
  std::vector<double> hidden = {32}; // mlp: hidden layer widths
  int64_t channels = 16;             // cnn, resnet, unet: channels of the first stage (doubling per stage)
  int64_t depth = 4;                 // unet: resolution levels (depth - 1 poolings)
  double dropout = 0.0;              // mlp/cnn: dropout before the last layer
  uint64_t init_seed = 1;            // seed of the initial weights (one worker makes them)
};

struct TrainingPlan {
  std::string optimizer = "adam";    // "sgd" | "adam"
  double learning_rate = 0.01;
  double momentum = 0.0;             // sgd only
  double weight_decay = 0.0;
  int64_t epochs = 1;                // local epochs per round (when steps == 0)
  int64_t steps = 0;                 // > 0: exactly this many local batches per round instead
  int64_t batch_size = 32;
  uint64_t seed = 1;                 // data order and augmentation; each hospital adds a hash of its name
  // Learning rate by round r (0-based): "constant"; "cosine" from learning_rate down to
  // min_learning_rate over schedule_rounds; "step": times lr_gamma every schedule_rounds.
  std::string lr_schedule = "constant";
  int64_t schedule_rounds = 10;
  double min_learning_rate = 0.0;
  double lr_gamma = 0.1;
  // FedProx (Li et al. 2020): adds mu/2 |w - w_global|^2 to the local loss; 0 = FedAvg.
  double proximal_mu = 0.0;
  // Label-skew calibration for classifiers (the logit-adjusted loss of Menon et al. 2021,
  // with each hospital's own prior, in the spirit of FedLC, Zhang et al. 2022, whose offset
  // is tau * n_k^(-1/4) instead): each hospital trains on
  // logits + tau * log(its own training class shares), so a hospital whose patients are
  // almost all of one class does not pull the shared model towards that class. Predictions
  // use the plain logits: class-balanced decisions. 0 = off; 1 = the standard setting.
  double logit_adjustment = 0.0;
};

// Training-time augmentation of image batches, drawn from the training seed (reproducible).
// Geometric transforms move the image and its mask together.
struct AugmentationPlan {
  double probability = 0.0;      // chance that a sample is augmented at all; 0 = off
  bool flip = true;              // random horizontal flip
  double rotation_deg = 15.0;    // uniform rotation in [-r, r] degrees
  double elastic_alpha = 0.0;    // elastic deformation: displacement in pixels (0 = off) ...
  double elastic_sigma = 4.0;    // ... of a Gaussian-smoothed random field with this sigma (pixels)
  double noise_std = 0.0;        // additive Gaussian noise (input units)
};

// PGD adversarial training (Madry et al. 2018): x' = Proj_{|x' - x|_inf <= eps}(x + alpha
// sign(grad_x L)), K steps from a random start, clamped to the valid intensity range;
// K = 1 without random start is FGSM.
struct AdversarialPlan {
  bool enabled = false;
  double eps = 2.0 / 255;        // L-inf radius (in input units: images are in [0, 1])
  double alpha = 0.5 / 255;      // step size
  int64_t steps = 7;             // K
  bool random_start = true;      // uniform start in the eps-ball
  double fraction = 0.5;         // share of each batch replaced by adversarial samples
  double weight = 1.0;           // lambda: loss = L(clean part) + lambda * L(adversarial part)
};

// Extra evaluation: robust accuracy (classification) or robust Dice (segmentation) under
// PGD-`robust_steps` at each radius.
struct EvalPlan {
  std::vector<double> robust_eps;  // e.g. [0.00784, 0.01569] for 2/255 and 4/255; empty = off
  int64_t robust_steps = 20;
};

// A personal model per hospital beside the global one (docs/training.md, "Personal models").
// Personal tensors never leave the hospital: the masked vector holds the shared ones only.
//  - "none": every tensor is shared (FedAvg);
//  - "finetune": FedAvg, then each hospital fine-tunes the final global model for
//    finetune_epochs on its own data;
//  - "fedbn": the normalisation layers are personal (Li et al. 2021);
//  - "fedrep": the output head is personal; each round trains the head for head_epochs with
//    the body frozen, then the body with the head frozen (Collins et al. 2021);
//  - "ditto": every tensor is shared, and each hospital also trains a personal copy of the
//    whole model pulled toward the global one by ditto_lambda/2 |v - w|^2 (Li et al. 2021);
//  - "decoupled": decoupled prediction (FedDAN, Gao et al. 2022) for 2-D segmentation with
//    the unet model: a shared generic prediction and a personal distribution-adaptation
//    network giving each centre's local prediction (models/decoupled.h).
struct PersonalizationPlan {
  std::string method = "none";
  int64_t finetune_epochs = 1;
  int64_t head_epochs = 1;
  double ditto_lambda = 0.1;
  int64_t latent_dim = 8;         // decoupled: dimension of z
  double trace_weight = 0.01;     // decoupled: alpha, the weight of trace(W)
  double kl_weight = 0.01;        // decoupled: beta, the weight of KL(q(z|x,y) || p(z|x))
  double lq_exponent = 0.7;       // decoupled: q of the generalised cross-entropy L_q
};

struct Plan {
  ModelPlan model;
  TrainingPlan training;
  AugmentationPlan augmentation;
  AdversarialPlan adversarial;
  EvalPlan evaluation;
  PersonalizationPlan personalization;
};

// Learning rate of round `round` (0-based) under the plan's schedule.
double LearningRateAt(const TrainingPlan& t, int64_t round);

// Checkpoint metadata that lets a saved model be rebuilt on its own (fl-worker evaluate and
// predict): "format", "model" and the whole plan as JSON under "plan".
std::map<std::string, std::string> ModelMetadata(const Plan& p);

// Reads a plan object; errors are recorded in `reader` (use reader.Finish()).
void ReadPlan(ConfigReader& reader, Plan* plan);
StatusOr<Plan> ParsePlan(const nlohmann::json& j, const std::string& what);
nlohmann::json PlanToJson(const Plan& p);

}  // namespace fl
