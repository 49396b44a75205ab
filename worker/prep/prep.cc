#include "prep/prep.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "data/image_folder.h"
#include "data/image_ops.h"
#include "data/morphology.h"
#include "data/nifti.h"
#include "data/rng.h"
#include "data/segmentation_data.h"
#include "fl/config_reader.h"
#include "fl/file_util.h"

namespace fl::prep {
namespace fs = std::filesystem;

namespace {

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return s != "." && s != "..";
}

Status Link(const std::string& target, const std::string& link) {
  std::error_code ec;
  fs::create_symlink(fs::absolute(target, ec), link, ec);
  if (ec) return Internal("cannot link " + link + " -> " + target + ": " + ec.message());
  return Status::Ok();
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
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(src.dir, ec)) {
        const std::string f = e.path().filename().string();
        const std::string& suf = spec.image_suffix;
        if (f.size() > suf.size() && f.compare(f.size() - suf.size(), suf.size(), suf) == 0) {
          ids.push_back(f.substr(0, f.size() - suf.size()));
        }
      }
      if (ec) return NotFound("cannot list " + src.dir + ": " + ec.message());
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

namespace {

// A JSON array of strings or numbers (class labels may be written either way) as strings.
bool StringList(const nlohmann::json& j, std::vector<std::string>* out) {
  if (!j.is_array()) return false;
  for (const auto& v : j) {
    if (v.is_string()) out->push_back(v.get<std::string>());
    else if (v.is_number_integer()) out->push_back(std::to_string(v.get<int64_t>()));
    else return false;
  }
  return true;
}

}  // namespace

StatusOr<Spec> ParseSpec(const nlohmann::json& j, const std::string& what) {
  Spec s;
  ConfigReader r(j, "");
  r.Require("format");
  r.GetEnum("format", &s.format, {"images", "nifti", "csv", "npz"});
  const bool tabular = s.format == "csv" || s.format == "npz";
  if (r.Require("output")) r.Get("output", &s.output);
  r.Get("seed", &s.seed, 0, UINT64_MAX);
  nlohmann::json sources, sites;
  if (tabular) {
    if (r.Require("input")) r.Get("input", &s.input);
    r.GetEnum("split", &s.split, {"random", "dirichlet", "classes", "column"});
    r.Get("alpha", &s.alpha, 1e-3, 1e6);
    r.Get("column", &s.column);
    r.Get("test_fraction", &s.test_fraction, 0.01, 0.9);
    if (s.format == "npz" && r.Has("test_fraction")) {
      r.Error("test_fraction", "does not apply to npz data (each hospital gets its share of the file's own splits)");
    }
    if (s.split != "dirichlet" && r.Has("alpha")) r.Error("alpha", "applies to split \"dirichlet\" only");
    if (s.split != "column" && r.Has("column")) r.Error("column", "applies to split \"column\" only");
    if (s.format == "csv") {
      ConfigReader c = r.Child("csv");
      c.Get("header", &s.header);
      c.Get("skip_rows", &s.skip_rows, 0, 1'000'000);
      c.Get("delimiter", &s.delimiter);
      if (c.Require("label_column")) c.Get("label_column", &s.label_column);
      c.Get("missing_values", &s.missing_values);
      if (s.delimiter.size() != 1 || s.delimiter == "\"" || s.delimiter == "\n") {
        c.Error("delimiter", "expected one character other than a quote or newline");
      }
      (void)c.Finish();
    }
    if (s.split == "column" && s.format != "csv") r.Error("split", "\"column\" needs csv data");
    if (s.split == "column" && s.column.empty()) r.Error("column", "is required with split \"column\"");
  } else {
    r.Get("image_suffix", &s.image_suffix);
    r.Get("label_suffix", &s.label_suffix);
    if (r.Require("sources")) r.GetJson("sources", &sources);
  }
  if (r.Require("sites")) r.GetJson("sites", &sites);
  FL_RETURN_IF_ERROR(r.Finish());
  auto fail = [&](const std::string& m) { return InvalidArgument(what + ": " + m); };
  if (!tabular && (!sources.is_object() || sources.empty())) {
    return fail("sources must be a non-empty object of name -> {dir, list}");
  }
  const nlohmann::json& source_json = tabular ? nlohmann::json::object() : sources;  // sources is null then
  for (const auto& [name, v] : source_json.items()) {
    Source src;
    src.name = name;
    if (!ValidName(name)) return fail("source name '" + name + "' must be 1-64 of [A-Za-z0-9._-]");
    ConfigReader sr(v, "sources." + name);
    if (sr.Require("dir")) sr.Get("dir", &src.dir);
    sr.Get("list", &src.list);
    sr.GetEnum("order", &src.order, {"random", "name"});
    if (Status st = sr.Finish(); !st.ok()) return fail(st.message());
    s.sources.push_back(src);
  }
  if (!sites.is_array() || sites.empty()) return fail("sites must be a non-empty array");
  std::set<std::string> names;
  for (size_t i = 0; i < sites.size(); ++i) {
    Site site;
    const std::string where = "sites[" + std::to_string(i) + "]";
    ConfigReader sr(sites[i], where);
    if (sr.Require("name")) sr.Get("name", &site.name);
    if (tabular) {
      site.test_fraction = s.test_fraction;
      sr.Get("weight", &site.weight, 0.0, 1e9);
      sr.Get("test_fraction", &site.test_fraction, 0.01, 0.9);
      if (s.format == "npz" && sr.Has("test_fraction")) sr.Error("test_fraction", "does not apply to npz data");
      nlohmann::json values, classes;
      sr.GetJson("values", &values);
      sr.GetJson("classes", &classes);
      if (!values.is_null() && !StringList(values, &site.values)) sr.Error("values", "expected an array of strings");
      if (!classes.is_null() && !StringList(classes, &site.classes)) sr.Error("classes", "expected an array of labels");
      if (s.split == "classes" && site.classes.empty()) sr.Error("classes", "is required with split \"classes\"");
      if (s.split != "classes" && !site.classes.empty()) sr.Error("classes", "only applies to split \"classes\"");
      if (s.split != "column" && !site.values.empty()) sr.Error("values", "only applies to split \"column\"");
    } else {
      if (sr.Require("source")) sr.Get("source", &site.source);
      sr.Get("cases", &site.cases, 0, 100000000);
      sr.Get("test_cases", &site.test_cases, 0, 100000000);
      sr.Get("test_fraction", &site.test_fraction, 0.0, 1.0);
      sr.Get("train_perturbation", &site.train_perturbation);
      sr.Get("test_perturbation", &site.test_perturbation);
      sr.Get("min_radius", &site.min_radius, 0, 50);
      sr.Get("max_radius", &site.max_radius, 0, 50);
    }
    if (Status st = sr.Finish(); !st.ok()) return fail(st.message());
    if (!ValidName(site.name) || site.name == "pooled") {
      return fail(where + ".name must be 1-64 of [A-Za-z0-9._-] and not \"pooled\"");
    }
    if (!names.insert(site.name).second) return fail(where + ".name '" + site.name + "' is used twice");
    if (tabular) {
      s.sites.push_back(site);
      continue;
    }
    if (std::none_of(s.sources.begin(), s.sources.end(), [&](const Source& x) { return x.name == site.source; })) {
      return fail(where + ".source '" + site.source + "' is not one of the sources");
    }
    if (site.max_radius < site.min_radius) return fail(where + ": max_radius is below min_radius");
    for (const auto* ops : {&site.train_perturbation, &site.test_perturbation}) {
      for (const std::string& op : *ops) {
        if (!data::ParsePerturbation(op).ok()) {
          return fail(where + ": unknown perturbation '" + op + "' (opening, closing, erosion, dilation)");
        }
      }
    }
    s.sites.push_back(site);
  }
  if (tabular) {
    double total = 0;
    for (const Site& site : s.sites) total += site.weight;
    if (s.sites.size() < 2) return fail("needs at least 2 sites");
    if (s.split != "column" && !(total > 0)) return fail("the sites' weights are all zero");
  }
  return s;
}

StatusOr<nlohmann::json> Run(const Spec& spec) {
  if (spec.format == "csv" || spec.format == "npz") return RunTabular(spec);
  std::map<std::string, std::vector<std::string>> pool;  // source -> unassigned cases, in draw order
  std::map<std::string, size_t> next;
  std::map<std::string, std::vector<std::string>> source_masks;  // images: each source's mask files, listed once
  for (const Source& src : spec.sources) {
    if (!fs::is_directory(src.dir)) return NotFound("source " + src.name + ": no folder " + src.dir);
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
      FL_RETURN_IF_ERROR(MakeDirs(spec.format == "nifti" ? dir : dir + "/images"));
      if (spec.format == "images") FL_RETURN_IF_ERROR(MakeDirs(dir + "/masks"));
      for (const std::string& id : *cases) {
        StatusOr<nlohmann::json> c = spec.format == "nifti"
                                         ? WriteNiftiCase(spec, src, site, id, dir, *ops, rng)
                                         : WriteImageCase(src, source_masks[src.name], id, dir, *ops, site, rng);
        if (!c.ok()) return c.status();
        written.push_back(*c);
        list += id + "\n";
      }
      if (spec.format == "nifti") FL_RETURN_IF_ERROR(AtomicWriteFile(root + "/" + split + ".list", list));
      js[split] = written;
    }
    summary[site.name] = js;
  }
  return summary;
}

}  // namespace fl::prep
