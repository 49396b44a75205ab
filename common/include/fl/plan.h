// The training plan: what every worker trains in a federation. It is written once in
// the coordinator's config, validated there at start-up, and sent to each worker in
// WELCOME as JSON (the coordinator never builds the model itself).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"
#include "fl/status.h"

namespace fl {

struct ModelPlan {
  std::string name = "mlp";          // "logreg" | "mlp" (tables) | "cnn" | "resnet" (images)
  std::vector<double> hidden = {32}; // mlp: hidden layer widths
  int64_t channels = 16;             // cnn, resnet: channels of the first stage (doubling per stage)
  double dropout = 0.0;              // mlp/cnn: dropout before the last layer
  uint64_t init_seed = 1;            // seed of the initial weights (one worker makes them)
};

struct TrainingPlan {
  std::string optimizer = "adam";    // "sgd" | "adam"
  double learning_rate = 0.01;
  double momentum = 0.0;             // sgd only
  double weight_decay = 0.0;
  int64_t epochs = 1;                // local epochs per round
  int64_t batch_size = 32;
  uint64_t seed = 1;                 // data order and dropout; each worker adds its id
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

// Extra evaluation: robust accuracy under PGD-`robust_steps` at each radius.
struct EvalPlan {
  std::vector<double> robust_eps;  // e.g. [0.00784, 0.01569] for 2/255 and 4/255; empty = off
  int64_t robust_steps = 20;
};

struct Plan {
  ModelPlan model;
  TrainingPlan training;
  AdversarialPlan adversarial;
  EvalPlan evaluation;
};

// Reads a plan object; errors are recorded in `reader` (use reader.Finish()).
void ReadPlan(ConfigReader& reader, Plan* plan);
StatusOr<Plan> ParsePlan(const nlohmann::json& j, const std::string& what);
nlohmann::json PlanToJson(const Plan& p);

}  // namespace fl
