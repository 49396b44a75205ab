// fl-prep for MedMNIST archives: an .npz file dealt to hospitals as data.npz per site (RunNpz).
#include <algorithm>
#include <map>

#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "fl/env.h"
#include "prep/prep.h"
#include "prep/tabular_internal.h"

namespace fl::prep::internal {
namespace {

StatusOr<std::vector<int64_t>> NpzLabels(const data::NpyArray& a, int64_t n, const std::string& what) {
  FL_ASSIGN_OR_RETURN(const data::internal::NpyDtype t, data::internal::ParseNpyDtype(a.dtype, what));
  const bool shape_ok = (a.shape.size() == 1 && a.shape[0] == n) ||
                        (a.shape.size() == 2 && a.shape[0] == n && a.shape[1] == 1);
  if (t.kind == 'f' || !shape_ok) {
    return InvalidArgument(what + ": labels must be integers of shape (" + std::to_string(n) + ",) or (" +
                           std::to_string(n) + ", 1), got " + a.dtype + " " + data::internal::ShapeString(a.shape));
  }
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (size_t i = 0; i < y.size(); ++i) {
    if (!data::internal::ReadIntegerElement(a, t, i, &y[i]) || y[i] < 0 || y[i] >= 1'000'000) {
      return InvalidArgument(what + ": label at row " + std::to_string(i) + " is out of range");
    }
  }
  return y;
}

}  // namespace

StatusOr<nlohmann::json> RunNpz(const Spec& spec) {
  FL_ASSIGN_OR_RETURN(auto arrays, data::ReadNpz(spec.input, {}));
  std::vector<std::string> prefixes;  // every <p>_images with a <p>_labels
  for (const auto& [name, a] : arrays) {
    const std::string suf = "_images";
    if (name.size() > suf.size() && name.compare(name.size() - suf.size(), suf.size(), suf) == 0) {
      const std::string p = name.substr(0, name.size() - suf.size());
      if (arrays.count(p + "_labels") == 0) return InvalidArgument(spec.input + ": " + name + " has no " + p + "_labels");
      if (a.shape.empty()) return InvalidArgument(spec.input + ": " + name + " is not an array of images");
      prefixes.push_back(p);
    }
  }
  if (std::find(prefixes.begin(), prefixes.end(), "train") == prefixes.end()) {
    return InvalidArgument(spec.input + ": no train_images/train_labels arrays");
  }
  std::map<std::string, std::vector<int64_t>> labels;
  int64_t k = 0;
  for (const std::string& p : prefixes) {
    FL_ASSIGN_OR_RETURN(labels[p], NpzLabels(arrays.at(p + "_labels"), arrays.at(p + "_images").shape[0],
                                             spec.input + " member " + p + "_labels"));
    for (int64_t v : labels[p]) k = std::max(k, v + 1);
  }
  std::vector<std::string> class_names;
  for (int64_t c = 0; c < k; ++c) class_names.push_back(std::to_string(c));
  std::vector<int64_t> all_labels;
  for (const auto& [p, y] : labels) all_labels.insert(all_labels.end(), y.begin(), y.end());
  FL_ASSIGN_OR_RETURN(const auto site_classes, SiteClasses(spec, class_names, all_labels));
  std::map<std::string, std::vector<int>> site_of;
  for (const std::string& p : prefixes) {
    FL_ASSIGN_OR_RETURN(site_of[p], Deal(spec, labels[p], k, site_classes));
  }
  FL_RETURN_IF_ERROR(CheckOutput(spec, false));

  // Every site's rows of every split first: a site without training images stops the run
  // before anything is written. Empty val/test splits are allowed (the worker then has no
  // local test split).
  std::vector<std::map<std::string, std::vector<size_t>>> rows_of(spec.sites.size());
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    for (const std::string& p : prefixes) {
      std::vector<size_t>& rows = rows_of[s][p];
      for (size_t r = 0; r < site_of[p].size(); ++r) {
        if (site_of[p][r] == static_cast<int>(s)) rows.push_back(r);
      }
    }
    if (rows_of[s]["train"].empty()) return InvalidArgument("site " + spec.sites[s].name + " gets no training images");
  }
  nlohmann::json summary = {{"sites", nlohmann::json::object()}}, sites_json = nlohmann::json::object();
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    const Site& site = spec.sites[s];
    std::map<std::string, data::NpyArray> out;
    nlohmann::json js = nlohmann::json::object();
    for (const std::string& p : prefixes) {
      const std::vector<size_t>& rows = rows_of[s][p];
      FL_ASSIGN_OR_RETURN(out[p + "_images"], data::TakeRows(arrays.at(p + "_images"), rows));
      FL_ASSIGN_OR_RETURN(out[p + "_labels"], data::TakeRows(arrays.at(p + "_labels"), rows));
      js[p] = {{"images", rows.size()}, {"classes", ClassCounts(labels[p], rows, class_names)}};
    }
    const std::string dir = spec.output + "/" + site.name;
    FL_RETURN_IF_ERROR(Env::Default().MakeDirs(dir));
    FL_RETURN_IF_ERROR(data::WriteNpz(dir + "/data.npz", out));
    summary["sites"][site.name] = js;
    sites_json[site.name] = {{"format", "npz"}, {"path", Abs(dir + "/data.npz")}, {"npz", {{"num_classes", k}}}};
  }
  // The launcher's pooled baseline and global test set: exactly the sites' splits.
  const nlohmann::json launch = {{"sites", sites_json}, {"pooled", SitesUnion(sites_json)},
                                 {"global_test", SitesUnion(sites_json)}};
  FL_RETURN_IF_ERROR(Env::Default().WriteFile(spec.output + "/sites.json", launch.dump(2) + "\n"));
  return summary;
}

}  // namespace fl::prep::internal
