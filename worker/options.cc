#include "options.h"

#include "fl/config_reader.h"
#include "fl/endpoint.h"
#include "fl/names.h"

namespace fl::worker {

StatusOr<WorkerOptions> ParseWorkerOptions(const nlohmann::json& j, const std::string& what) {
  WorkerOptions o;
  ConfigReader r(j, "");
  if (r.Require("name")) r.Get("name", &o.name);
  r.Get("coordinator", &o.coordinator);
  r.Get("coordinator_public_key", &o.coordinator_public_key);
  r.Get("insecure", &o.insecure);
  if (o.insecure && !IsLoopbackEndpoint(o.coordinator)) {
    r.Error("insecure", "plain TCP is refused to a coordinator that is not on loopback");
  }
  if (Status e = CheckEndpoint(o.coordinator, /*for_binding=*/false); !e.ok()) r.Error("coordinator", e.message());
  r.Get("seed", &o.seed, 0, UINT64_MAX);
  r.Get("min_cohort", &o.min_cohort, 3, 1u << 20);
  r.Get("min_survivors", &o.min_survivors, 3, 1u << 20);
  r.Get("output_model", &o.output_model);
  r.Get("identity_key", &o.identity_key);
  r.Get("roster", &o.roster);
  ConfigReader sa = r.Child("secagg");
  sa.Get("max_dropout", &o.security.max_dropout, 0.0, 0.49);
  sa.Get("max_corrupt", &o.security.max_corrupt, 0.0, 0.49);
  (void)sa.Finish();

  ConfigReader d = r.Child("data");
  d.Require("format");
  d.GetEnum("format", &o.data.format, {"csv", "npz", "images", "nifti"});
  std::string path;
  if (d.Require("path")) d.Get("path", &path);
  o.data.csv.path = o.data.npz.path = o.data.images.train_dir = o.data.nifti.dir = path;
  ConfigReader csv = d.Child("csv");
  csv.Get("header", &o.data.csv.header);
  int64_t skip = 0;
  csv.Get("skip_rows", &skip, 0, 1'000'000);
  o.data.csv.skip_rows = static_cast<int>(skip);
  csv.Get("label_column", &o.data.csv.label_column);
  csv.Get("missing_values", &o.data.csv.missing_values);
  csv.Get("test_fraction", &o.data.csv.test_fraction, 0.0, 0.9);
  csv.Get("split_seed", &o.data.csv.split_seed, 0, UINT64_MAX);
  csv.Get("standardize", &o.data.csv.standardize);
  csv.Get("test_path", &o.data.csv.test_path);
  csv.Get("classes", &o.data.csv.classes);
  std::string delim = ",";
  csv.Get("delimiter", &delim);
  if (delim.size() != 1) csv.Error("delimiter", "expected a single character, got \"" + delim + "\"");
  else o.data.csv.delimiter = delim[0];
  (void)csv.Finish();
  ConfigReader npz = d.Child("npz");
  npz.Get("train_prefix", &o.data.npz.train_prefix);
  npz.Get("test_prefix", &o.data.npz.test_prefix);
  npz.Get("max_train", &o.data.npz.max_train, 0, INT64_MAX);
  npz.Get("max_test", &o.data.npz.max_test, 0, INT64_MAX);
  npz.Get("num_classes", &o.data.npz.num_classes, 0, data::kMaxClasses);
  (void)npz.Finish();
  ConfigReader img = d.Child("images");
  data::ImageFolderOptions& f = o.data.images.folder;
  img.Get("test_dir", &o.data.images.test_dir);
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
  data::NiftiOptions& n = o.data.nifti;
  nii.Get("train_list", &n.train_list);
  nii.Get("test_list", &n.test_list);
  if (o.data.format == "nifti" && n.train_list.empty() && n.test_list.empty()) {
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
  part.Get("weights", &o.data.partition.weights, 0.0, 1e9);
  uint64_t index = 0;
  part.Get("index", &index, 0, 1'000'000);
  o.data.partition.index = index;
  part.Get("seed", &o.data.partition.seed, 0, UINT64_MAX);
  part.Get("dirichlet_alpha", &o.data.partition.dirichlet_alpha, 0.0, 1e6);
  if (!o.data.partition.weights.empty() && index >= o.data.partition.weights.size()) {
    part.Error("index", "must be below the number of weights (" + std::to_string(o.data.partition.weights.size()) + ")");
  }
  (void)part.Finish();
  if (!o.data.partition.weights.empty() && (o.data.format == "images" || o.data.format == "nifti")) {
    d.Error("partition", "applies to csv and npz data only; make image or volume hospitals with fl-prep");
  }
  if (!o.data.partition.weights.empty() && !o.data.csv.test_path.empty()) {
    d.Error("partition", "cannot be combined with csv.test_path (a hospital's own train and test files)");
  }
  if (o.data.format == "csv" && o.data.csv.label_column.empty()) d.Error("csv.label_column", "is required for csv data");
  (void)d.Finish();
  o.data.csv.partition = o.data.npz.partition = o.data.partition;

  ConfigReader dev = r.Child("device");
  dev.Get("type", &o.device.device);
  int64_t threads = 0;
  dev.Get("threads", &threads, 0, 1024);
  o.device.threads = static_cast<int>(threads);
  const std::string& t = o.device.device;
  if (!(t == "auto" || t == "cpu" || t == "cuda" || t.rfind("cuda:", 0) == 0)) {
    dev.Error("type", "expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", got \"" + t + "\"");
  }
  (void)dev.Finish();

  ConfigReader to = r.Child("timeouts");
  to.Get("connect_s", &o.connect_timeout_s, 0.0, 86400.0);
  to.Get("idle_s", &o.idle_timeout_s, 0.2, 7 * 86400.0);
  to.Get("heartbeat_interval_s", &o.heartbeat_interval_s, 0.05, 60.0);
  (void)to.Finish();
  if (!o.name.empty() && !IsValidName(o.name)) {
    r.Error("name", "use 1-64 characters of [A-Za-z0-9._-], got \"" + o.name.substr(0, 64) + "\"");
  }
  Status s = r.Finish();
  if (!s.ok()) return InvalidArgument(what + ": " + s.message());
  return o;
}

uint64_t TrainingSeed(const WorkerOptions& o, uint64_t plan_seed) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a of the name
  for (unsigned char c : o.name) h = (h ^ c) * 1099511628211ull;
  return plan_seed + o.seed + (h & 0xFFFFFFFFull);
}

StatusOr<data::Split> LoadData(const DataOptions& o) {
  if (o.format == "csv") return data::LoadCsv(o.csv);
  if (o.format == "images") return data::LoadImageSplit(o.images);
  if (o.format == "nifti") return data::LoadNiftiSplit(o.nifti);
  return data::LoadNpz(o.npz);
}

}  // namespace fl::worker
