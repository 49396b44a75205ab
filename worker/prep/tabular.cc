// fl-prep for tables (csv) and MedMNIST archives (npz): dealing rows to hospitals (RunTabular).
#include "prep/tabular_internal.h"

#include <algorithm>
#include <filesystem>

#include "data/csv_loader.h"
#include "data/dataset.h"
#include "data/rng.h"
#include "fl/env.h"
#include "prep/prep.h"

namespace fl::prep {
namespace fs = std::filesystem;

namespace internal {

std::string Abs(const std::string& p) {
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);  // the working directory: no Env call for it
  return ec ? p : a.lexically_normal().string();
}

nlohmann::json SitesUnion(const nlohmann::json& sites) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& [name, section] : sites.items()) parts.push_back(section);
  return {{"format", "union"}, {"parts", parts}};
}

// The site (index into spec.sites, or -1) of each row, from its class. Not for split "column".
StatusOr<std::vector<int>> Deal(const Spec& spec, const std::vector<int64_t>& y, int64_t num_classes,
                                const std::vector<std::vector<int64_t>>& site_classes) {
  std::vector<int> site_of(y.size(), -1);
  std::vector<double> weights;
  for (const Site& s : spec.sites) weights.push_back(s.weight);
  if (spec.split == "classes") {
    for (int64_t c = 0; c < num_classes; ++c) {
      std::vector<size_t> rows, holders;
      std::vector<double> w;
      for (size_t r = 0; r < y.size(); ++r) {
        if (y[r] == c) rows.push_back(r);
      }
      for (size_t s = 0; s < site_classes.size(); ++s) {
        if (std::count(site_classes[s].begin(), site_classes[s].end(), c) > 0) {
          holders.push_back(s);
          w.push_back(weights[s]);
        }
      }
      if (rows.empty()) continue;
      data::SplitMix64 rng(spec.seed ^ (0x5c1a55e5ULL + static_cast<uint64_t>(c)));
      rng.Shuffle(rows);
      FL_ASSIGN_OR_RETURN(std::vector<size_t> sizes, data::PartitionSizes(rows.size(), w));
      size_t at = 0;
      for (size_t h = 0; h < holders.size(); ++h) {
        for (size_t k = 0; k < sizes[h]; ++k) site_of[rows[at++]] = static_cast<int>(holders[h]);
      }
    }
    return site_of;
  }
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    data::Partition p;
    p.weights = weights;
    p.index = s;
    p.seed = spec.seed;
    p.dirichlet_alpha = spec.split == "dirichlet" ? spec.alpha : 0.0;
    FL_ASSIGN_OR_RETURN(std::vector<size_t> rows, data::PartitionRowsByLabel(y, p));
    for (size_t r : rows) site_of[r] = static_cast<int>(s);
  }
  return site_of;
}

// Rows per class, for the summary.
nlohmann::json ClassCounts(const std::vector<int64_t>& y, const std::vector<size_t>& rows,
                           const std::vector<std::string>& class_names) {
  std::vector<int64_t> n(class_names.size(), 0);
  for (size_t r : rows) ++n[static_cast<size_t>(y[r])];
  nlohmann::json j = nlohmann::json::object();
  for (size_t c = 0; c < n.size(); ++c) j[class_names[c]] = n[c];
  return j;
}

// Each site's classes (split "classes") as class ids, checked against the file's classes;
// every class that has rows (y) must be listed by some site.
StatusOr<std::vector<std::vector<int64_t>>> SiteClasses(const Spec& spec, const std::vector<std::string>& class_names,
                                                        const std::vector<int64_t>& y) {
  std::vector<std::vector<int64_t>> out(spec.sites.size());
  if (spec.split != "classes") return out;
  std::vector<bool> held(class_names.size(), false);
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    for (const std::string& c : spec.sites[s].classes) {
      const int64_t id = data::FindCsvClass(class_names, c);
      if (id < 0) {
        return InvalidArgument("site " + spec.sites[s].name + " lists class '" + c + "', which " + spec.input +
                               " does not have");
      }
      out[s].push_back(id);
      held[static_cast<size_t>(id)] = true;
    }
  }
  for (int64_t c : y) {
    if (!held[static_cast<size_t>(c)]) {
      return InvalidArgument("class '" + class_names[static_cast<size_t>(c)] + "' is listed by no site (split \"classes\")");
    }
  }
  return out;
}

}  // namespace internal

Status CheckOutput(const Spec& spec, bool pooled) {
  std::vector<std::string> dirs;
  for (const Site& s : spec.sites) dirs.push_back(s.name);
  if (pooled) dirs.push_back("pooled");
  for (const std::string& d : dirs) {
    if (Env::Default().FileExists(spec.output + "/" + d)) {
      return FailedPrecondition(spec.output + "/" + d + " exists; remove it or choose another output");
    }
  }
  return Status::Ok();
}

StatusOr<nlohmann::json> RunTabular(const Spec& spec) {
  if (spec.format == "csv") return internal::RunCsv(spec);
  if (spec.format == "npz") return internal::RunNpz(spec);
  return InvalidArgument("RunTabular: format must be csv or npz, not " + spec.format);
}

}  // namespace fl::prep
