// fl-prep: turns one dataset into the folders of several hospitals (simulated or real
// centres), each with its own train/test split, optionally perturbing the annotation masks
// of chosen hospitals with morphological operations to mimic centres that annotate
// differently. Outputs are what the worker's "images" and "nifti" data formats read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/status.h"

namespace fl::prep {

struct Source {
  std::string name;
  std::string dir;   // images: folder with images/ and masks/; nifti: folder of volumes
  std::string list;  // nifti: file of case ids (default: every <id>_image.nii.gz in dir)
  // How cases are handed to sites: "random" (shuffled with the seed) or "name" (in natural
  // name order, numbers compared by value; a site's test split is then its last cases). Use
  // "name" when consecutive cases are related, e.g. frames of one video sequence, so that
  // related frames do not end up on both sides of a split.
  std::string order = "random";
};

struct Site {
  std::string name;
  std::string source;
  int64_t cases = 0;            // cases drawn from the source; 0 = all that are left
  int64_t test_cases = -1;      // of those, the local test split; -1 = use test_fraction
  double test_fraction = 0.2;
  std::vector<std::string> train_perturbation;  // applied in order to training masks
  std::vector<std::string> test_perturbation;   // applied in order to local test masks
  int64_t min_radius = 1, max_radius = 3;       // structuring-element radius, drawn per mask and op
};

struct Spec {
  std::string format;   // "images" | "nifti"
  std::string output;   // one folder per site is made here
  uint64_t seed = 1;
  std::string image_suffix = "_image.nii.gz", label_suffix = "_label.nii.gz";
  std::vector<Source> sources;
  std::vector<Site> sites;
};

// Parses and checks a spec (unknown keys, unknown sources or operations, name clashes).
StatusOr<Spec> ParseSpec(const nlohmann::json& j, const std::string& what);

// Writes every site's folders and returns a summary: per site the train/test case ids and,
// for perturbed masks, the Dice of each perturbed mask against the original.
// Per site (images): <output>/<site>/{train,test}/{images,masks}/; images are symbolic links
// to the source files, masks links too unless perturbed (then PNG). Per site (nifti):
// <output>/<site>/volumes/<id>_image.nii.gz (link) and <id>_label.nii.gz (link, or the
// perturbed label written with the source geometry), and train.list / test.list.
// A site without test cases gets no test folder or test.list. Perturbation needs binary
// masks (a label volume with several foreground classes is refused).
// Case ids of a source are ordered once (shuffled with `seed`, or by name) and handed to
// sites in that order, so sites never share a case. Refuses to write into an existing site folder.
StatusOr<nlohmann::json> Run(const Spec& spec);

}  // namespace fl::prep
