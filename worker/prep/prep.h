// fl-prep: turns one dataset into the folders of several hospitals (simulated or real
// centres), each with its own train/test split, optionally perturbing the annotation masks
// of chosen hospitals with morphological operations to mimic centres that annotate
// differently. Outputs are what the worker's "images" and "nifti" data formats read.
// Tables (csv) and MedMNIST archives (npz) are split by a site column, at random, by
// label skew (Dirichlet(alpha) class shares, or the classes each hospital lists) into one
// file set per hospital; see RunTabular.
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
  std::string source;           // images / nifti
  // csv / npz: the site's share of the rows (split "random", "dirichlet", "classes"), the
  // values of the site column it takes (split "column"; default: its name) and the labels
  // it holds (split "classes").
  double weight = 1.0;
  std::vector<std::string> values;
  std::vector<std::string> classes;
  int64_t cases = 0;            // cases drawn from the source; 0 = all that are left
  int64_t test_cases = -1;      // of those, the local test split; -1 = use test_fraction
  double test_fraction = 0.2;
  std::vector<std::string> train_perturbation;  // applied in order to training masks
  std::vector<std::string> test_perturbation;   // applied in order to local test masks
  int64_t min_radius = 1, max_radius = 3;       // structuring-element radius, drawn per mask and op
};

struct Spec {
  std::string format;   // "images" | "nifti" | "csv" | "npz"
  std::string output;   // one folder per site is made here
  uint64_t seed = 1;
  std::string image_suffix = "_image.nii.gz", label_suffix = "_label.nii.gz";
  std::vector<Source> sources;  // images / nifti
  std::vector<Site> sites;

  // csv / npz: the one input file and how its rows are dealt to sites.
  std::string input;
  std::string split = "random";  // "random" | "dirichlet" | "classes" | "column" (csv only)
  double alpha = 0.5;            // split "dirichlet": each class's site shares ~ Dirichlet(alpha K w)
  std::string column;            // split "column": header name or index of the site column
  double test_fraction = 0.2;    // csv: each site's stratified test share (npz keeps the file's splits)
  // csv: how to read the table (as the worker's csv section).
  bool header = true;
  int64_t skip_rows = 0;
  std::string delimiter = ",";
  std::string label_column;      // required for csv
  std::vector<std::string> missing_values = {"", "?", "NA", "NaN", "nan"};
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
// csv and npz specs are handed to RunTabular.
StatusOr<nlohmann::json> Run(const Spec& spec);

// Splits one table or MedMNIST archive into hospitals.
//  csv: rows with a missing label are dropped; the rest are dealt to sites by `split`, then
//    each site's rows are split into train/test, stratified by label, with the site's
//    test_fraction (default the spec's). Writes <output>/<site>/{train,test}.csv (the header
//    and rows as read, minus the site column for split "column") and
//    <output>/pooled/{train,test}.csv, the union of the sites' splits.
//  npz: every <prefix>_images / <prefix>_labels pair (train, val, test) is dealt to sites by
//    `split` with the same class shares, so each site's test split has its training class
//    mix; writes <output>/<site>/data.npz. The input file itself is the pooled data.
//  Splits: "random" (sizes proportional to weights, any class mix), "dirichlet" (per class,
//    site shares ~ Dirichlet(alpha * K * w); the same partition as the worker's in-process
//    data.partition with the same seed, weights and alpha), "classes" (each class's rows go
//    to the sites listing it, in proportion to their weights; every class must be listed),
//    "column" (csv: a row goes to the site whose values contain its site-column value;
//    rows of unlisted values are dropped and counted).
// Also writes <output>/sites.json, the hospitals for `fl-launch --sites` (data sections with
// explicit classes so that a site lacking a class builds the same model), plus "pooled"
// and "global_test". Refuses to write into an existing site folder.
StatusOr<nlohmann::json> RunTabular(const Spec& spec);

// FailedPrecondition if a site folder (and with `pooled` the pooled/ folder) already
// exists under spec.output: fl-prep never writes into an earlier run's files.
Status CheckOutput(const Spec& spec, bool pooled);

}  // namespace fl::prep
