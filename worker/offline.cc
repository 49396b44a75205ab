#include "offline.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "data/image_folder.h"
#include "data/image_ops.h"
#include "data/npz_loader.h"
#include "data/volume.h"
#include "eval_metrics.h"
#include "hospital_data.h"
#include "plan_files.h"
#include "training/personalized_trainer.h"
#include "fl/config_reader.h"
#include "fl/env.h"

namespace fl::worker {
namespace fs = std::filesystem;

namespace {

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The inputs to predict on: one file, or the matching files of a folder, sorted.
StatusOr<std::vector<std::string>> InputFiles(const std::string& input, const std::string& suffix, bool images) {
  Env& env = Env::Default();
  if (env.FileSize(input).ok()) return std::vector<std::string>{input};  // a regular file
  if (!env.IsDirectory(input)) return NotFound("no such input file or folder: " + input);
  std::vector<std::string> files;
  if (images) {
    const std::string dir = env.IsDirectory(input + "/images") ? input + "/images" : input;
    FL_ASSIGN_OR_RETURN(std::vector<std::string> names, data::ListImages(dir));
    for (const auto& n : names) files.push_back(dir + "/" + n);
  } else {
    FL_ASSIGN_OR_RETURN(const std::vector<std::string> names, env.ListDir(input));
    for (const std::string& name : names) {
      if (EndsWith(name, suffix)) files.push_back((fs::path(input) / name).string());
    }
    std::sort(files.begin(), files.end());
  }
  if (files.empty()) return NotFound("no inputs in " + input);
  return files;
}

// Per-pixel class probabilities of one input, float32 in C order: [K, *spatial] for one
// sample (an image, a volume under a 3-D model), [N, K, *spatial] for a volume's N slices.
StatusOr<data::NpyArray> ProbabilityArray(Trainer& t, const data::Dataset& d, bool slices) {
  FL_ASSIGN_OR_RETURN(std::vector<float> probs, t.PredictProbabilities(d));
  data::NpyArray a;
  a.dtype = "<f4";
  if (slices) a.shape.push_back(static_cast<int64_t>(d.size()));
  a.shape.push_back(t.num_classes());
  const std::vector<int64_t>& spatial = d.sample_shape;
  a.shape.insert(a.shape.end(), spatial.begin() + 1, spatial.end());
  a.data.resize(probs.size() * sizeof(float));
  std::memcpy(a.data.data(), probs.data(), a.data.size());
  return a;
}

// Writes the probabilities collected for `--probabilities`, when any.
StatusOr<nlohmann::json> WithProbabilities(nlohmann::json summary, const std::map<std::string, data::NpyArray>& arrays,
                                           const std::string& out) {
  if (arrays.empty()) return summary;
  const std::string dst = out + "/probabilities.npz";
  FL_RETURN_IF_ERROR(data::WriteNpz(dst, arrays));
  summary["written"].push_back(dst);
  return summary;
}

StatusOr<nlohmann::json> PredictImages(const WorkerOptions& o, Trainer& t, const std::string& input,
                                       const std::string& out, bool probabilities) {
  const data::ImageFolderOptions& f = o.data.images.folder;
  FL_ASSIGN_OR_RETURN(std::vector<std::string> files, InputFiles(input, "", true));
  // Masks are named <stem>.png: two inputs with one stem (a.png and a.jpg) would overwrite
  // each other's mask, so refuse before writing anything.
  std::map<std::string, std::string> by_stem;
  for (const std::string& file : files) {
    const auto [it, fresh] = by_stem.emplace(data::ImageStem(fs::path(file).filename().string()), file);
    if (!fresh) {
      return InvalidArgument("inputs " + it->second + " and " + file + " would both write " + out + "/" + it->first +
                             ".png; rename one");
    }
  }
  nlohmann::json written = nlohmann::json::array();
  std::map<std::string, data::NpyArray> probs;
  for (const std::string& file : files) {
    FL_ASSIGN_OR_RETURN(data::Image8 img, data::ReadImage(file, f.channels));
    const int64_t c = f.channels, h = f.height > 0 ? f.height : img.h, w = f.width > 0 ? f.width : img.w;
    std::vector<float> chw = data::ImageFeatures(img, f, h, w);
    if (chw.empty()) return Internal("resizing " + file + " failed");
    data::Dataset d;
    d.sample_shape = {c, h, w};
    d.features = std::move(chw);
    d.labels = {0};
    FL_ASSIGN_OR_RETURN(std::vector<uint8_t> mask, t.PredictMasks(d));
    if (probabilities) {
      FL_ASSIGN_OR_RETURN(probs[data::ImageStem(fs::path(file).filename().string())], ProbabilityArray(t, d, false));
    }
    if (h != img.h || w != img.w) mask = data::ResizeNearest(mask, h, w, img.h, img.w);
    for (uint8_t& v : mask) v = static_cast<uint8_t>(v * 255 / std::max<int64_t>(1, t.num_classes() - 1));
    const std::string dst = out + "/" + data::ImageStem(fs::path(file).filename().string()) + ".png";
    FL_RETURN_IF_ERROR(data::WritePng(dst, mask.data(), img.h, img.w, 1));
    written.push_back(dst);
  }
  return WithProbabilities({{"written", written}, {"samples", files.size()}}, probs, out);
}

StatusOr<nlohmann::json> PredictVolumes(const WorkerOptions& o, Trainer& t, const std::string& input,
                                        const std::string& out, bool probabilities) {
  const data::NiftiOptions& n = o.data.nifti;
  FL_ASSIGN_OR_RETURN(std::vector<std::string> files, InputFiles(input, n.image_suffix, false));
  nlohmann::json written = nlohmann::json::array();
  std::map<std::string, data::NpyArray> probs;
  for (const std::string& file : files) {
    FL_ASSIGN_OR_RETURN(data::PreparedVolume p, data::PrepareVolume(n, file));
    data::Volume zeros = p.prepared;
    std::fill(zeros.data.begin(), zeros.data.end(), 0.0f);
    // 2-D models see the volume's slices along the axis; a 3-D model sees the whole volume,
    // whose voxels are in the order of its axial slices.
    const int axis = n.volumes ? 2 : n.axis;
    FL_ASSIGN_OR_RETURN(data::Dataset slices, data::VolumesToSlices({p.prepared}, {zeros}, axis, 1, n.num_classes));
    if (n.volumes) {
      FL_ASSIGN_OR_RETURN(slices, data::StackSlices(std::move(slices), p.prepared.dims[2]));
    }
    FL_ASSIGN_OR_RETURN(std::vector<uint8_t> masks, t.PredictMasks(slices));
    FL_ASSIGN_OR_RETURN(data::Volume mask, data::SlicesToVolume(p.prepared, masks, axis));
    FL_ASSIGN_OR_RETURN(data::Volume restored, data::RestoreMask(n, p, mask));
    std::string id = fs::path(file).filename().string();
    for (const std::string& suffix : {n.image_suffix, std::string(".nii.gz"), std::string(".nii")}) {
      if (EndsWith(id, suffix)) {
        id.resize(id.size() - suffix.size());
        break;
      }
    }
    if (probabilities) {
      FL_ASSIGN_OR_RETURN(probs[id], ProbabilityArray(t, slices, !n.volumes));
    }
    const std::string dst = out + "/" + id + "_pred.nii.gz";
    FL_RETURN_IF_ERROR(data::WriteNifti(dst, restored, data::NiftiDtype::kUint8));
    written.push_back(dst);
  }
  return WithProbabilities({{"written", written}, {"samples", files.size()}}, probs, out);
}

// Every scored row in input order: its id, the label it came with (often empty), the
// predicted class (its label in the hospital's file) and each class's probability.
StatusOr<nlohmann::json> PredictTable(Trainer& t, const data::SamplesToScore& rows,
                                      const std::vector<std::string>& class_names, const std::string& out) {
  FL_ASSIGN_OR_RETURN(std::vector<float> probs, t.PredictProbabilities(rows.data));
  const size_t k = static_cast<size_t>(t.num_classes());
  if (class_names.size() != k) {
    return InvalidArgument("the model has " + std::to_string(k) + " classes, the hospital's table " +
                           std::to_string(class_names.size()));
  }
  std::ostringstream csv;
  csv << "id,label,predicted";
  for (size_t c = 0; c < k; ++c) csv << ",p_" << c;
  csv << "\n";
  csv.precision(6);
  for (size_t i = 0; i < rows.data.size(); ++i) {
    const float* p = probs.data() + i * k;
    const size_t best = static_cast<size_t>(std::max_element(p, p + k) - p);
    csv << CsvCell(rows.data.ids[i]) << "," << CsvCell(rows.given_labels[i]) << "," << CsvCell(class_names[best]);
    for (size_t c = 0; c < k; ++c) csv << "," << p[c];
    csv << "\n";
  }
  const std::string dst = out + "/predictions.csv";
  FL_RETURN_IF_ERROR(Env::Default().WriteFile(dst, csv.str()));
  return nlohmann::json{{"written", {dst}}, {"samples", rows.data.size()}};
}

}  // namespace

namespace {

// The whole model's parameters from checkpoint `c`: a whole model (a coordinator checkpoint
// without personal tensors, a hospital's personal-model.safetensors, a local model), or the
// shared tensors of a personalised federation's global model, completed with the personal
// tensors of `personal` (a hospital's personal-model.safetensors) or, without one, with their
// initial values. A checkpoint must be this model, tensor by tensor: a renamed or reshaped
// tensor is an error here rather than a silent garbage prediction.
StatusOr<std::vector<float>> WholeModel(Trainer& t, const Plan& plan, const Checkpoint& c, const std::string& checkpoint,
                                        const std::string& personal) {
  const ModelLayout whole = t.Layout();
  FL_ASSIGN_OR_RETURN(const std::vector<bool> mask, PersonalTensors(plan.personalization, t));
  const bool has_personal = std::find(mask.begin(), mask.end(), true) != mask.end();
  if (!has_personal || c.layout.tensors.size() == whole.tensors.size()) {
    FL_RETURN_IF_ERROR(CheckSameLayout(whole, c.layout, checkpoint));
    if (!personal.empty()) {
      return InvalidArgument("--personal completes a global model of shared tensors; " + checkpoint +
                             " is a whole model already (give a personal model as --model)");
    }
    return c.values;
  }
  std::vector<bool> shared;
  for (bool p : mask) shared.push_back(!p);
  FL_RETURN_IF_ERROR(CheckSameLayout(SelectLayout(whole, shared), c.layout, checkpoint));
  std::vector<float> values = t.Parameters();  // personal tensors at their initial values
  FL_RETURN_IF_ERROR(PlaceTensors(whole, shared, c.values, &values));
  t.SetLocalPrediction(!personal.empty());  // decoupled prediction: the generic one alone
  if (personal.empty()) {
    if (plan.personalization.method == "fedrep") {
      return InvalidArgument(checkpoint + " is a FedRep global model: its head stays at each hospital; give "
                             "--personal STATE_DIR/personal-model.safetensors");
    }
    return values;
  }
  FL_ASSIGN_OR_RETURN(Checkpoint p, ReadSafetensors(Env::Default(), personal));
  const auto method = p.metadata.find("personalization");
  if (method == p.metadata.end() || method->second != plan.personalization.method) {
    return InvalidArgument(personal + " is not a personal model of a " + plan.personalization.method + " federation");
  }
  FL_RETURN_IF_ERROR(CheckSameLayout(whole, p.layout, personal));
  FL_RETURN_IF_ERROR(CheckFinite(p, personal));
  FL_RETURN_IF_ERROR(PlaceTensors(whole, mask, SelectTensors(whole, mask, p.values), &values));
  return values;
}

}  // namespace

StatusOr<std::unique_ptr<Trainer>> LoadModel(const std::string& checkpoint, data::Split split,
                                             const DeviceOptions& device, const std::vector<double>& robust_eps,
                                             int64_t robust_steps, const std::string& personal) {
  FL_ASSIGN_OR_RETURN(Checkpoint c, ReadSafetensors(Env::Default(), checkpoint));
  FL_ASSIGN_OR_RETURN(Plan plan, CheckpointPlan(c, checkpoint));
  if (!robust_eps.empty()) {
    plan.evaluation.robust_eps = robust_eps;
    plan.evaluation.robust_steps = robust_steps;
  }
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, Trainer::Create(plan, std::move(split), device, 0));
  FL_RETURN_IF_ERROR(CheckFinite(c, checkpoint));
  FL_ASSIGN_OR_RETURN(std::vector<float> values, WholeModel(*t, plan, c, checkpoint, personal));
  if (Status s = t->SetParameters(values); !s.ok()) {
    return InvalidArgument(checkpoint + " does not fit the model its plan describes for this data: " + s.message());
  }
  return t;
}

StatusOr<nlohmann::json> EvaluateCheckpoint(const WorkerOptions& o, const std::string& checkpoint,
                                            const std::vector<double>& robust_eps, int64_t robust_steps,
                                            const std::string& personal) {
  FL_ASSIGN_OR_RETURN(data::Split s, LoadData(o.data));
  if (s.test.size() == 0) return InvalidArgument("the configured data has no test split to evaluate on");
  s.train = data::Subset(s.test, {0});  // sizes the model; training data is not needed here
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, LoadModel(checkpoint, std::move(s), o.device, robust_eps, robust_steps, personal));
  FL_ASSIGN_OR_RETURN(EvalMetrics m, t->Evaluate());
  nlohmann::json j = TestMetricsJson(m);
  j["name"] = o.name;
  j["model"] = checkpoint;
  return j;
}

namespace {

// One sample of `like` sizes the model for prediction.
StatusOr<data::Split> ShapeOnly(const data::Split& like) {
  const data::Dataset& src = like.train.size() > 0 ? like.train : like.test;
  if (src.size() == 0) return InvalidArgument("no samples to size the model from");
  return data::Split{data::Subset(src, {0}), data::Subset(src, {})};
}

}  // namespace

StatusOr<nlohmann::json> Predict(const WorkerOptions& o, const std::string& checkpoint, const std::string& input,
                                 const std::string& out, bool probabilities, const std::string& personal) {
  FL_RETURN_IF_ERROR(Env::Default().MakeDirs(out));
  if (o.data.format == "images" || o.data.format == "nifti") {
    // The model is sized from the configured data's sample shape.
    FL_ASSIGN_OR_RETURN(data::Split like, LoadData(o.data));
    FL_ASSIGN_OR_RETURN(data::Split shape, ShapeOnly(like));
    FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, LoadModel(checkpoint, std::move(shape), o.device, {}, 20, personal));
    return o.data.format == "images" ? PredictImages(o, *t, input, out, probabilities)
                                     : PredictVolumes(o, *t, input, out, probabilities);
  }
  if (o.data.format == "csv") {
    // New patients, with or without labels, prepared with the hospital's own statistics.
    FL_ASSIGN_OR_RETURN(data::TablePreprocessing prep, HospitalPreprocessing(o));
    FL_ASSIGN_OR_RETURN(data::SamplesToScore rows, data::ReadSamplesToScore(input, prep));
    data::Split shape{data::Subset(rows.data, {0}), data::Subset(rows.data, {})};
    shape.train.labels = {0};
    FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, LoadModel(checkpoint, std::move(shape), o.device, {}, 20, personal));
    return PredictTable(*t, rows, prep.class_names, out);
  }
  if (o.data.format != "npz") return InvalidArgument("predict takes a hospital whose data is csv, npz, images or nifti");
  // An archive of images, with or without labels; the model's classes from the hospital's data.
  FL_ASSIGN_OR_RETURN(data::SamplesToScore rows, data::LoadNpzToScore(input, o.data.npz.test_prefix));
  if (rows.data.size() == 0) return InvalidArgument(input + ": no images to predict on");
  int64_t classes_n = o.data.npz.num_classes;  // fl-prep writes it: then no training data is read
  if (classes_n <= 0) {
    FL_ASSIGN_OR_RETURN(data::Split like, LoadData(o.data));
    classes_n = std::max(like.train.num_classes, like.test.num_classes);
  }
  rows.data.num_classes = classes_n;
  data::Split shape{data::Subset(rows.data, {0}), data::Subset(rows.data, {})};
  FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, LoadModel(checkpoint, std::move(shape), o.device, {}, 20, personal));
  std::vector<std::string> classes;
  for (int64_t c = 0; c < t->num_classes(); ++c) classes.push_back(std::to_string(c));
  return PredictTable(*t, rows, classes, out);
}

}  // namespace fl::worker
