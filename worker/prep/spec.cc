// Parsing and checking of fl-prep specs (ParseSpec).
#include "prep/prep.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "data/morphology.h"
#include "fl/config_reader.h"

namespace fl::prep {
namespace {

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return s != "." && s != "..";
}

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

}  // namespace fl::prep
