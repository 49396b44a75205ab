#include "data_options.h"

#include <string>

#include "fl/log.h"

namespace fl::worker {
namespace {

void ReadParts(ConfigReader& d, DataOptions* data) {
  nlohmann::json parts;
  if (d.Require("parts")) d.GetJson("parts", &parts);
  if (!parts.is_array() || parts.empty() || parts.size() > kMaxDataParts) {
    d.Error("parts", "must be a list of 1 to " + std::to_string(kMaxDataParts) + " data sections");
    return;
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string where = "parts[" + std::to_string(i) + "]";
    if (!parts[i].is_object()) {
      d.Error(where, "must be a data section (an object with a format)");
      continue;
    }
    ConfigReader part(parts[i], "");
    DataOptions p;
    ReadDataSection(part, &p, /*parts_allowed=*/false);
    if (Status s = part.Finish(); !s.ok()) d.Error(where, s.message());
    data->parts.push_back(std::move(p));
  }
}

// One line for each column with missing values, so nobody trains on imputed data unawares.
void LogImputation(const std::string& path, const data::CsvReport& r) {
  for (size_t j = 0; j < r.missing_by_feature.size() && j < r.feature_names.size(); ++j) {
    if (r.missing_by_feature[j] == 0) continue;
    FL_LOG(kInfo) << path << ": column '" << r.feature_names[j] << "': " << r.missing_by_feature[j] << " of "
                  << r.site_rows << " values missing in this hospital's rows, filled with its training mean";
  }
}

}  // namespace

void ReadDataSection(ConfigReader& d, DataOptions* data, bool parts_allowed) {
  d.Require("format");
  if (parts_allowed) {
    d.GetEnum("format", &data->format, {"csv", "npz", "images", "nifti", "union"});
  } else {
    d.GetEnum("format", &data->format, {"csv", "npz", "images", "nifti"});
  }
  if (data->format == "union") return ReadParts(d, data);
  std::string path;
  if (d.Require("path")) d.Get("path", &path);
  data->csv.path = data->npz.path = data->images.train_dir = data->nifti.dir = path;
  ConfigReader csv = d.Child("csv");
  csv.Get("header", &data->csv.header);
  int64_t skip = 0;
  csv.Get("skip_rows", &skip, 0, 1'000'000);
  data->csv.skip_rows = static_cast<int>(skip);
  csv.Get("label_column", &data->csv.label_column);
  csv.Get("missing_values", &data->csv.missing_values);
  csv.Get("test_fraction", &data->csv.test_fraction, 0.0, 0.9);
  csv.Get("split_seed", &data->csv.split_seed, 0, UINT64_MAX);
  csv.Get("standardize", &data->csv.standardize);
  csv.Get("test_path", &data->csv.test_path);
  csv.Get("classes", &data->csv.classes);
  csv.Get("id_column", &data->csv.id_column);
  std::string delim = ",";
  csv.Get("delimiter", &delim);
  if (delim.size() != 1) csv.Error("delimiter", "expected a single character, got \"" + delim + "\"");
  else data->csv.delimiter = delim[0];
  (void)csv.Finish();
  ConfigReader npz = d.Child("npz");
  npz.Get("train_prefix", &data->npz.train_prefix);
  npz.Get("test_prefix", &data->npz.test_prefix);
  npz.Get("max_train", &data->npz.max_train, 0, INT64_MAX);
  npz.Get("max_test", &data->npz.max_test, 0, INT64_MAX);
  npz.Get("num_classes", &data->npz.num_classes, 0, data::kMaxClasses);
  (void)npz.Finish();
  ConfigReader img = d.Child("images");
  data::ImageFolderOptions& f = data->images.folder;
  img.Get("test_dir", &data->images.test_dir);
  img.Get("images_dir", &f.images_dir);
  img.Get("masks_dir", &f.masks_dir);
  int64_t channels = f.channels, threshold = f.mask_threshold;
  img.Get("channels", &channels, 1, 3);
  if (channels == 2) img.Error("channels", "must be 1 (grayscale) or 3 (RGB)");
  f.channels = static_cast<int>(channels);
  img.Get("mask_threshold", &threshold, 0, 254);
  f.mask_threshold = static_cast<int>(threshold);
  img.Get("height", &f.height, 0, 8192);
  img.Get("width", &f.width, 0, 8192);
  if ((f.height == 0) != (f.width == 0)) img.Error("height", "set height and width together (0 = keep the size)");
  img.Get("normalize", &f.normalize);
  (void)img.Finish();
  ConfigReader nii = d.Child("nifti");
  data::NiftiOptions& n = data->nifti;
  nii.Get("train_list", &n.train_list);
  nii.Get("test_list", &n.test_list);
  if (data->format == "nifti" && n.train_list.empty() && n.test_list.empty()) {
    nii.Error("train_list", "is required (or test_list, for evaluation only)");
  }
  nii.Get("image_suffix", &n.image_suffix);
  nii.Get("label_suffix", &n.label_suffix);
  nii.Get("spacing", &n.spacing, 1e-3, 100.0);
  if (!n.spacing.empty() && n.spacing.size() != 3) nii.Error("spacing", "needs 3 values (x y z, mm)");
  std::vector<double> crop;
  nii.Get("crop", &crop, 0, 4096);
  if (crop.size() > 3) nii.Error("crop", "needs at most 3 values (x y z voxels; 0 keeps an axis)");
  for (double c : crop) {
    if (c != static_cast<double>(static_cast<int64_t>(c))) nii.Error("crop", "voxel counts must be integers");
    n.crop.push_back(static_cast<int64_t>(c));
  }
  nii.Get("zscore", &n.zscore);
  int64_t axis = n.axis, classes = n.num_classes;
  nii.Get("axis", &axis, 0, 2);
  n.axis = static_cast<int>(axis);
  nii.Get("slice_stride", &n.slice_stride, 1, 1000);
  std::string mode = "slices";
  nii.GetEnum("mode", &mode, {"slices", "volumes"});
  n.volumes = mode == "volumes";
  if (n.volumes && (nii.Has("axis") || nii.Has("slice_stride"))) {
    nii.Error(nii.Has("axis") ? "axis" : "slice_stride", "applies to mode \"slices\" only");
  }
  nii.Get("num_classes", &classes, 2, 255);
  n.num_classes = static_cast<int>(classes);
  (void)nii.Finish();
  ConfigReader part = d.Child("partition");
  part.Get("weights", &data->partition.weights, 0.0, 1e9);
  uint64_t index = 0;
  part.Get("index", &index, 0, 1'000'000);
  data->partition.index = index;
  part.Get("seed", &data->partition.seed, 0, UINT64_MAX);
  part.Get("dirichlet_alpha", &data->partition.dirichlet_alpha, 0.0, 1e6);
  if (!data->partition.weights.empty() && index >= data->partition.weights.size()) {
    part.Error("index", "must be below the number of weights (" + std::to_string(data->partition.weights.size()) + ")");
  }
  (void)part.Finish();
  if (!data->partition.weights.empty() && (data->format == "images" || data->format == "nifti")) {
    d.Error("partition", "applies to csv and npz data only; make image or volume hospitals with fl-prep");
  }
  if (!data->partition.weights.empty() && !data->csv.test_path.empty()) {
    d.Error("partition", "cannot be combined with csv.test_path (a hospital's own train and test files)");
  }
  if (data->format == "csv" && data->csv.label_column.empty()) d.Error("csv.label_column", "is required for csv data");
  data->csv.partition = data->npz.partition = data->partition;
}

StatusOr<data::Split> LoadData(const DataOptions& o, data::CsvReport* csv_report) {
  if (o.format == "csv") {
    data::CsvReport report;
    StatusOr<data::Split> split = data::LoadCsv(o.csv, &report);
    if (split.ok()) LogImputation(o.csv.path, report);
    if (csv_report) *csv_report = std::move(report);
    return split;
  }
  if (o.format == "images") return data::LoadImageSplit(o.images);
  if (o.format == "nifti") return data::LoadNiftiSplit(o.nifti);
  if (o.format == "npz") return data::LoadNpz(o.npz);
  // A union: each part prepared as its own hospital would prepare it (its own split, its
  // own statistics), then the parts' training sets and test sets concatenated.
  data::Split all;
  for (size_t i = 0; i < o.parts.size(); ++i) {
    const std::string where = "data.parts[" + std::to_string(i) + "]";
    StatusOr<data::Split> part = LoadData(o.parts[i]);
    if (!part.ok()) return part.status().WithContext(where);
    if (i == 0) {
      all = std::move(part).value();
      continue;
    }
    FL_RETURN_IF_ERROR(data::AppendDataset(part->train, &all.train).WithContext(where + " (training set)"));
    FL_RETURN_IF_ERROR(data::AppendDataset(part->test, &all.test).WithContext(where + " (test set)"));
  }
  return all;
}

}  // namespace fl::worker
