// Helpers shared by the csv and npz halves of fl-prep's tabular mode (internal to worker/prep).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/status.h"
#include "prep/prep.h"

namespace fl::prep::internal {

// `p` made absolute and normalised (unchanged if the working directory is unknown).
std::string Abs(const std::string& p);

// The site (index into spec.sites, or -1) of each row, from its class. Not for split "column".
StatusOr<std::vector<int>> Deal(const Spec& spec, const std::vector<int64_t>& y, int64_t num_classes,
                                const std::vector<std::vector<int64_t>>& site_classes);

// A worker data section that is the union of the sites' data sections (format "union"):
// each site prepared as its hospital prepares it, their splits concatenated.
nlohmann::json SitesUnion(const nlohmann::json& sites);

// Rows per class, for the summary.
nlohmann::json ClassCounts(const std::vector<int64_t>& y, const std::vector<size_t>& rows,
                           const std::vector<std::string>& class_names);

// Each site's classes (split "classes") as class ids, checked against the file's classes;
// every class that has rows (y) must be listed by some site.
StatusOr<std::vector<std::vector<int64_t>>> SiteClasses(const Spec& spec, const std::vector<std::string>& class_names,
                                                        const std::vector<int64_t>& y);

// RunTabular for csv and for npz specs.
StatusOr<nlohmann::json> RunCsv(const Spec& spec);
StatusOr<nlohmann::json> RunNpz(const Spec& spec);

}  // namespace fl::prep::internal
