// A hospital's personal model beside the global one (plan.personalization; docs/training.md,
// "Personal models"). PersonalizedTrainer wraps the trainer of the whole model and shows
// the federation only the shared tensors: Layout, Parameters and SetParameters cover them
// alone, so personal tensors never enter the masked vector and the coordinator's dimension
// excludes them. The personal part stays in the wrapped model (FedBN's normalisation
// layers, FedRep's head) or in a second parameter vector (Ditto's personal model), and the
// whole model this hospital uses is written after every round to its state_dir
// (personal-model.safetensors), from which a restarted worker resumes it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/plan.h"
#include "training/trainer.h"

namespace fl::worker {

// The file in a worker's state_dir holding the whole model the hospital uses.
std::string PersonalModelPath(const std::string& state_dir);

// Which tensors of `inner` (Layout order) the plan's method keeps personal: the
// normalisation layers (fedbn), the head (fedrep), the adaptation network (decoupled),
// none otherwise. InvalidArgument when the
// model has none of the kind the method needs.
StatusOr<std::vector<bool>> PersonalTensors(const PersonalizationPlan& p, Trainer& inner);

// The tensors of `layout` that `which` marks, as a layout, and their values cut from the
// whole model's flat vector `whole`; PlaceTensors writes such packed values back into it.
ModelLayout SelectLayout(const ModelLayout& layout, const std::vector<bool>& which);
std::vector<float> SelectTensors(const ModelLayout& layout, const std::vector<bool>& which,
                                 const std::vector<float>& whole);
Status PlaceTensors(const ModelLayout& layout, const std::vector<bool>& which, const std::vector<float>& packed,
                    std::vector<float>* whole);

// `inner` itself for method "none"; else the wrapped trainer. `state_path` empty: the
// personal model is neither saved nor resumed (offline evaluation). A saved personal model
// of another model or method is an error naming the file, never silently replaced.
StatusOr<std::unique_ptr<Trainer>> Personalize(std::unique_ptr<Trainer> inner, const Plan& plan, Env& env,
                                               const std::string& state_path);

}  // namespace fl::worker
