// fl-worker's offline commands: evaluate a saved model on this hospital's test split, and
// predict with it on new images or volumes. Neither needs a coordinator.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "fl/safetensors.h"
#include "fl/status.h"
#include "options.h"
#include "training/trainer.h"

namespace fl::worker {

// A trainer holding the model of a checkpoint written by the coordinator or by
// `fl-worker local --output-model` (its metadata carries the plan), built on `split` (its
// training split only sizes the model). A non-empty `robust_eps` replaces the plan's
// evaluation radii. The global model of a federation with personal tensors (fedbn,
// fedrep) holds the shared tensors only: `personal` (a hospital's
// personal-model.safetensors) completes it, else the personal tensors keep their initial
// values (the global model alone).
StatusOr<std::unique_ptr<Trainer>> LoadModel(const std::string& checkpoint, data::Split split,
                                             const DeviceOptions& device, const std::vector<double>& robust_eps = {},
                                             int64_t robust_steps = 20, const std::string& personal = "");

// Test metrics of the checkpoint on the configured test split, as the JSON object the
// worker reports ({"test_accuracy": ..., "test_dice": ..., ...}). A non-empty `robust_eps`
// replaces the plan's evaluation radii (robust accuracy / Dice under PGD-`robust_steps`).
StatusOr<nlohmann::json> EvaluateCheckpoint(const WorkerOptions& o, const std::string& checkpoint,
                                            const std::vector<double>& robust_eps = {}, int64_t robust_steps = 20,
                                            const std::string& personal = "");

// Writes predictions for `input` to `out`, preprocessed as the config's data section says:
//  - format images: `input` is an image file or a folder of images (its images/ subfolder if
//    there is one); writes <out>/<stem>.png masks (0/255) at each input's own size.
//  - format nifti: `input` is a volume or a folder of volumes named *<image_suffix>; writes
//    <out>/<id>_pred.nii.gz in the input's geometry.
//  - formats npz and csv: `input` is a table or an archive of new samples, labelled or not;
//    writes <out>/predictions.csv with one row per input sample: id, label, predicted,
//    p_0 ... p_{K-1}.
// With `probabilities`, a segmentation model's per-pixel class probabilities are written
// too: <out>/probabilities.npz, one float32 array per input (named by its stem or volume id)
// on the grid the model saw: [K, H, W] for an image, [K, D, H, W] for a volume under a
// 3-D model, [slices, K, H, W] for a volume's slices along the configured axis.
// Returns a summary (files written, samples).
StatusOr<nlohmann::json> Predict(const WorkerOptions& o, const std::string& checkpoint, const std::string& input,
                                 const std::string& out, bool probabilities = false, const std::string& personal = "");

}  // namespace fl::worker
