// fl-prep for segmentation data: image folders and NIfTI volumes dealt case by case (Run).
#include "prep/prep.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>

#include "data/image_folder.h"
#include "data/image_ops.h"
#include "data/morphology.h"
#include "data/nifti.h"
#include "data/rng.h"
#include "data/segmentation_data.h"
#include "fl/env.h"

namespace fl::prep {
namespace fs = std::filesystem;

namespace {

Status Link(const std::string& target, const std::string& link) {
  std::error_code ec;
  const fs::path abs = fs::absolute(target, ec);  // the working directory: no Env call for it
  if (ec) return Internal("cannot link " + link + " -> " + target + ": " + ec.message());
  return Env::Default().Symlink(abs.string(), link).WithContext("cannot link " + link + " -> " + target);
}

// Applies a list of perturbations to a 0/1 mask; returns the mask and its Dice with the input.
StatusOr<std::vector<uint8_t>> Perturb(const std::vector<uint8_t>& mask, const std::vector<int64_t>& dims,
                                       const std::vector<std::string>& ops, const Site& site, data::SplitMix64& rng) {
  std::vector<uint8_t> m = mask;
  for (const std::string& op : ops) {
    FL_ASSIGN_OR_RETURN(data::Perturbation p, data::ParsePerturbation(op));
    FL_ASSIGN_OR_RETURN(m, data::PerturbMask(m, dims, p, static_cast<int>(site.min_radius),
                                            static_cast<int>(site.max_radius), rng));
  }
  return m;
}

// "frame2" < "frame10": runs of digits compare by value, everything else bytewise.
bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      std::string x = a.substr(i, ie - i), y = b.substr(j, je - j);
      x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
      y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
      if (x.size() != y.size()) return x.size() < y.size();
      if (x != y) return x < y;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// Case ids of every source, in the order they are handed to sites.
StatusOr<std::vector<std::string>> SourceCases(const Spec& spec, const Source& src) {
  std::vector<std::string> ids;
  if (spec.format == "nifti") {
    if (!src.list.empty()) {
      FL_ASSIGN_OR_RETURN(ids, data::ReadIdList(src.list));
    } else {
      StatusOr<std::vector<std::string>> names = Env::Default().ListDir(src.dir);
      if (!names.ok()) return NotFound("cannot list " + src.dir + ": " + names.status().message());
      for (const std::string& f : *names) {
        const std::string& suf = spec.image_suffix;
        if (f.size() > suf.size() && f.compare(f.size() - suf.size(), suf.size(), suf) == 0) {
          ids.push_back(f.substr(0, f.size() - suf.size()));
        }
      }
      std::sort(ids.begin(), ids.end());
    }
  } else {
    FL_ASSIGN_OR_RETURN(ids, data::ListImages(src.dir + "/images"));
  }
  if (ids.empty()) return InvalidArgument("source " + src.name + " (" + src.dir + ") has no cases");
  if (src.order == "name") {
    std::sort(ids.begin(), ids.end(), NaturalLess);
    return ids;
  }
  data::SplitMix64 rng(spec.seed ^ 0x9e3779b97f4a7c15ULL);
  for (size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.Below(i)]);
  return ids;
}

StatusOr<nlohmann::json> WriteNiftiCase(const Spec& spec, const Source& src, const Site& site, const std::string& id,
                                        const std::string& dir, const std::vector<std::string>& ops,
                                        data::SplitMix64& rng) {
  const std::string image = src.dir + "/" + id + spec.image_suffix, label = src.dir + "/" + id + spec.label_suffix;
  FL_RETURN_IF_ERROR(Link(image, dir + "/" + id + spec.image_suffix));
  if (ops.empty()) {
    FL_ASSIGN_OR_RETURN(data::Volume v, data::ReadNifti(image));
    FL_RETURN_IF_ERROR(data::ReadNiftiLabel(label, v).status());
    FL_RETURN_IF_ERROR(Link(label, dir + "/" + id + spec.label_suffix));
    return nlohmann::json{{"id", id}};
  }
  FL_ASSIGN_OR_RETURN(data::Volume v, data::ReadNifti(image));
  FL_ASSIGN_OR_RETURN(data::Volume l, data::ReadNiftiLabel(label, v));
  std::vector<uint8_t> mask(l.data.size());
  for (size_t i = 0; i < mask.size(); ++i) {
    // Perturbation works on one foreground class; merging classes would silently drop some.
    if (l.data[i] > 1) {
      return InvalidArgument(label + " has more than one foreground class (value " + std::to_string(l.data[i]) +
                             "); mask perturbation supports binary labels only");
    }
    mask[i] = l.data[i] > 0 ? 1 : 0;
  }
  FL_ASSIGN_OR_RETURN(std::vector<uint8_t> out, Perturb(mask, {l.dims[2], l.dims[1], l.dims[0]}, ops, site, rng));
  for (size_t i = 0; i < out.size(); ++i) l.data[i] = out[i];
  FL_RETURN_IF_ERROR(data::WriteNifti(dir + "/" + id + spec.label_suffix, l, data::NiftiDtype::kUint8));
  return nlohmann::json{{"id", id}, {"dice_vs_original", data::DiceCoefficient(mask, out)}};
}

StatusOr<nlohmann::json> WriteImageCase(const Source& src, const std::vector<std::string>& masks,
                                        const std::string& file, const std::string& dir,
                                        const std::vector<std::string>& ops, const Site& site, data::SplitMix64& rng) {
  // The mask of an image is the same file name, else the same stem (as the loader matches).
  const std::string stem = data::ImageStem(file);
  std::string mask_file;
  for (const std::string& m : masks) {
    if (m == file) mask_file = m;
  }
  for (const std::string& m : masks) {
    if (mask_file.empty() && data::ImageStem(m) == stem) mask_file = m;
  }
  if (mask_file.empty()) return NotFound("image " + src.dir + "/images/" + file + " has no mask in " + src.dir + "/masks");
  FL_RETURN_IF_ERROR(Link(src.dir + "/images/" + file, dir + "/images/" + file));
  if (ops.empty()) {
    FL_RETURN_IF_ERROR(Link(src.dir + "/masks/" + mask_file, dir + "/masks/" + mask_file));
    return nlohmann::json{{"id", file}};
  }
  FL_ASSIGN_OR_RETURN(data::Image8 img, data::ReadImage(src.dir + "/masks/" + mask_file, 1));
  std::vector<uint8_t> mask(img.hwc.size());
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = img.hwc[i] > 128 ? 1 : 0;
  FL_ASSIGN_OR_RETURN(std::vector<uint8_t> out, Perturb(mask, {img.h, img.w}, ops, site, rng));
  std::vector<uint8_t> png(out.size());
  for (size_t i = 0; i < out.size(); ++i) png[i] = out[i] ? 255 : 0;
  FL_RETURN_IF_ERROR(data::WritePng(dir + "/masks/" + stem + ".png", png.data(), img.h, img.w, 1));
  return nlohmann::json{{"id", file}, {"dice_vs_original", data::DiceCoefficient(mask, out)}};
}

}  // namespace

StatusOr<nlohmann::json> Run(const Spec& spec) {
  if (spec.format == "csv" || spec.format == "npz") return RunTabular(spec);
  std::map<std::string, std::vector<std::string>> pool;  // source -> unassigned cases, in draw order
  std::map<std::string, size_t> next;
  std::map<std::string, std::vector<std::string>> source_masks;  // images: each source's mask files, listed once
  for (const Source& src : spec.sources) {
    if (!Env::Default().IsDirectory(src.dir)) return NotFound("source " + src.name + ": no folder " + src.dir);
    FL_ASSIGN_OR_RETURN(pool[src.name], SourceCases(spec, src));
    if (spec.format == "images") {
      FL_ASSIGN_OR_RETURN(source_masks[src.name], data::ListImages(src.dir + "/masks"));
    }
  }
  FL_RETURN_IF_ERROR(CheckOutput(spec, false));
  nlohmann::json summary = nlohmann::json::object();
  data::SplitMix64 rng(spec.seed);
  for (const Site& site : spec.sites) {
    const Source& src = *std::find_if(spec.sources.begin(), spec.sources.end(),
                                      [&](const Source& x) { return x.name == site.source; });
    const std::vector<std::string>& ids = pool[src.name];
    size_t& at = next[src.name];
    const size_t left = ids.size() - at;
    const size_t n = site.cases == 0 ? left : static_cast<size_t>(site.cases);
    if (n > left || n == 0) {
      return InvalidArgument("site " + site.name + " wants " + std::to_string(n) + " cases but source " + src.name +
                             " has " + std::to_string(left) + " left");
    }
    const size_t n_test = site.test_cases >= 0
                              ? static_cast<size_t>(site.test_cases)
                              : static_cast<size_t>(std::llround(site.test_fraction * static_cast<double>(n)));
    if (n_test >= n) return InvalidArgument("site " + site.name + ": the test split would leave no training cases");
    std::vector<std::string> train(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                   ids.begin() + static_cast<std::ptrdiff_t>(at + n - n_test));
    std::vector<std::string> test(ids.begin() + static_cast<std::ptrdiff_t>(at + n - n_test),
                                  ids.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    std::sort(train.begin(), train.end(), NaturalLess);
    std::sort(test.begin(), test.end(), NaturalLess);
    const std::string root = spec.output + "/" + site.name;
    nlohmann::json js = {{"source", src.name}, {"train_perturbation", site.train_perturbation},
                         {"test_perturbation", site.test_perturbation}};
    for (const auto& [split, cases, ops] : {std::make_tuple("train", &train, &site.train_perturbation),
                                            std::make_tuple("test", &test, &site.test_perturbation)}) {
      nlohmann::json written = nlohmann::json::array();
      if (cases->empty()) {  // no local test split: no folder or list the worker would reject
        js[split] = written;
        continue;
      }
      std::string list;
      const std::string dir = spec.format == "nifti" ? root + "/volumes" : root + "/" + split;
      FL_RETURN_IF_ERROR(Env::Default().MakeDirs(spec.format == "nifti" ? dir : dir + "/images"));
      if (spec.format == "images") FL_RETURN_IF_ERROR(Env::Default().MakeDirs(dir + "/masks"));
      for (const std::string& id : *cases) {
        StatusOr<nlohmann::json> c = spec.format == "nifti"
                                         ? WriteNiftiCase(spec, src, site, id, dir, *ops, rng)
                                         : WriteImageCase(src, source_masks[src.name], id, dir, *ops, site, rng);
        if (!c.ok()) return c.status();
        written.push_back(*c);
        list += id + "\n";
      }
      if (spec.format == "nifti") FL_RETURN_IF_ERROR(Env::Default().WriteFile(root + "/" + split + ".list", list));
      js[split] = written;
    }
    summary[site.name] = js;
  }
  return summary;
}

}  // namespace fl::prep
