// fl-prep for tables (csv) and MedMNIST archives (npz): one file dealt to several hospitals.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "data/csv_loader.h"
#include "data/csv_table.h"
#include "data/dataset.h"
#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "data/rng.h"
#include "fl/file_util.h"
#include "prep/prep.h"

namespace fl::prep {
namespace fs = std::filesystem;

namespace {

std::string Abs(const std::string& p) {
  std::error_code ec;
  const fs::path a = fs::absolute(p, ec);
  return ec ? p : a.lexically_normal().string();
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

// ---- csv ----

// A field as the CSV reader will read it back: quoted when it holds the delimiter, a quote
// or a line break, or starts or ends with a blank (which the reader trims from unquoted fields).
std::string CsvField(const std::string& f, char delim) {
  const bool blank_edge = !f.empty() && (f.front() == ' ' || f.front() == '\t' || f.back() == ' ' || f.back() == '\t');
  if (!blank_edge && f.find_first_of(std::string(1, delim) + "\"\r\n") == std::string::npos) {
    return f;
  }
  std::string q = "\"";
  for (char c : f) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string CsvLine(const std::vector<std::string>& fields, size_t skip, char delim) {
  std::string line;
  bool first = true;
  for (size_t c = 0; c < fields.size(); ++c) {
    if (c == skip) continue;
    if (!first) line += delim;
    line += CsvField(fields[c], delim);
    first = false;
  }
  return line + "\n";
}

StatusOr<nlohmann::json> RunCsv(const Spec& spec) {
  const char delim = spec.delimiter[0];
  data::internal::CsvFormat format;
  format.delimiter = delim;
  format.skip_rows = static_cast<int>(spec.skip_rows);
  format.header = spec.header;
  FL_ASSIGN_OR_RETURN(data::internal::CsvTable table, data::internal::ReadCsvFile(spec.input, format));
  const std::string ctx = "csv file '" + spec.input + "'";
  if (table.records.empty()) return InvalidArgument(ctx + ": no data rows");
  const size_t ncols = spec.header ? table.header.size() : table.records.front().fields.size();
  FL_ASSIGN_OR_RETURN(const size_t label_col,
                      data::ResolveCsvColumn(spec.label_column, table.header, spec.header, ncols, ctx));
  size_t site_col = ncols;  // none
  if (spec.split == "column") {
    FL_ASSIGN_OR_RETURN(site_col, data::ResolveCsvColumn(spec.column, table.header, spec.header, ncols, ctx));
    if (site_col == label_col) return InvalidArgument(ctx + ": the site column is the label column");
  }
  if (ncols < (site_col < ncols ? 3u : 2u)) return InvalidArgument(ctx + ": no feature column left");

  // Rows with a label. With a site column only the rows of a listed site are kept (the
  // rest are counted), so the classes are those of the hospitals' rows: a class that only
  // unlisted rows have would be a model output that no hospital trains.
  auto column_site = [&](const std::string& v) {
    for (size_t s = 0; s < spec.sites.size(); ++s) {
      const std::vector<std::string>& vals = spec.sites[s].values;
      if (vals.empty() ? v == spec.sites[s].name : std::count(vals.begin(), vals.end(), v) > 0) {
        return static_cast<int>(s);
      }
    }
    return -1;
  };
  std::vector<size_t> kept;
  std::vector<std::string> raw;
  std::vector<int> site_of;  // with a site column; the other splits deal the rows below
  size_t labelled = 0;
  for (size_t r = 0; r < table.records.size(); ++r) {
    const std::string& l = table.records[r].fields[label_col];
    if (std::find(spec.missing_values.begin(), spec.missing_values.end(), l) != spec.missing_values.end()) continue;
    ++labelled;
    const int site = spec.split == "column" ? column_site(table.records[r].fields[site_col]) : -1;
    if (spec.split == "column" && site < 0) continue;
    kept.push_back(r);
    raw.push_back(l);
    site_of.push_back(site);
  }
  if (labelled == 0) return InvalidArgument(ctx + ": every row has a missing label");
  const size_t unassigned = labelled - kept.size();
  std::vector<int64_t> y;
  std::vector<std::string> class_names;
  data::MapCsvLabels(raw, &y, &class_names);
  const auto k = static_cast<int64_t>(class_names.size());
  if (spec.split != "column") {
    FL_ASSIGN_OR_RETURN(const auto site_classes, SiteClasses(spec, class_names, y));
    FL_ASSIGN_OR_RETURN(site_of, Deal(spec, y, k, site_classes));
  }
  FL_RETURN_IF_ERROR(CheckOutput(spec, true));

  const size_t skip = site_col;  // not written (ncols = none)
  std::string header_line;
  if (spec.header) header_line = CsvLine(table.header, skip, delim);
  nlohmann::json summary = {{"sites", nlohmann::json::object()}}, sites_json = nlohmann::json::object();
  std::vector<size_t> pooled_train, pooled_test;
  // How the written files name the label column: its header name when that is unique among
  // the written columns (names resolve to their first use), else its index there.
  std::vector<std::string> written_header;
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (c != site_col) written_header.push_back(table.header[c]);
  }
  std::string label_ref = std::to_string(label_col - (site_col < label_col ? 1 : 0));
  if (spec.header) {
    const std::string& name = table.header[label_col];
    if (std::count(written_header.begin(), written_header.end(), name) == 1) {
      label_ref = name;
    } else if (std::count(written_header.begin(), written_header.end(), label_ref) > 0) {
      return InvalidArgument(ctx + ": the label column's name '" + name +
                             "' is used twice and its index is another column's name; rename a column");
    }
  }
  auto data_section = [&](const std::string& dir) {
    return nlohmann::json{{"format", "csv"},
                          {"path", Abs(dir + "/train.csv")},
                          {"csv",
                           {{"test_path", Abs(dir + "/test.csv")},
                            {"header", spec.header},
                            {"delimiter", spec.delimiter},
                            {"label_column", label_ref},
                            {"missing_values", spec.missing_values},
                            {"classes", class_names}}}};
  };
  auto write = [&](const std::string& dir, const std::vector<size_t>& rows, const std::string& name) -> Status {
    std::string text = header_line;
    for (size_t i : rows) text += CsvLine(table.records[kept[i]].fields, skip, delim);
    return AtomicWriteFile(dir + "/" + name, text);
  };
  // Every site's stratified train/test split first, so that a site that would get an empty
  // split stops the run before anything is written.
  std::vector<std::vector<size_t>> trains(spec.sites.size()), tests(spec.sites.size());
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    const Site& site = spec.sites[s];
    std::vector<size_t> rows;
    for (size_t i = 0; i < kept.size(); ++i) {
      if (site_of[i] == static_cast<int>(s)) rows.push_back(i);
    }
    std::vector<size_t>& train = trains[s];
    std::vector<size_t>& test = tests[s];
    data::StratifiedSplit(rows, y, static_cast<size_t>(k), site.test_fraction, spec.seed ^ (0x7e57ULL * (s + 1)), &train,
                          &test);
    if (train.empty() || test.empty()) {
      return InvalidArgument("site " + site.name + " gets " + std::to_string(train.size()) + " training and " +
                             std::to_string(test.size()) + " test rows; each needs at least one");
    }
  }
  for (size_t s = 0; s < spec.sites.size(); ++s) {
    const Site& site = spec.sites[s];
    const std::vector<size_t>& train = trains[s];
    const std::vector<size_t>& test = tests[s];
    const std::string dir = spec.output + "/" + site.name;
    FL_RETURN_IF_ERROR(MakeDirs(dir));
    FL_RETURN_IF_ERROR(write(dir, train, "train.csv"));
    FL_RETURN_IF_ERROR(write(dir, test, "test.csv"));
    pooled_train.insert(pooled_train.end(), train.begin(), train.end());
    pooled_test.insert(pooled_test.end(), test.begin(), test.end());
    summary["sites"][site.name] = {{"train", train.size()}, {"test", test.size()},
                                   {"train_classes", ClassCounts(y, train, class_names)},
                                   {"test_classes", ClassCounts(y, test, class_names)}};
    sites_json[site.name] = data_section(dir);
  }
  std::sort(pooled_train.begin(), pooled_train.end());
  std::sort(pooled_test.begin(), pooled_test.end());
  const std::string pooled = spec.output + "/pooled";
  FL_RETURN_IF_ERROR(MakeDirs(pooled));
  FL_RETURN_IF_ERROR(write(pooled, pooled_train, "train.csv"));
  FL_RETURN_IF_ERROR(write(pooled, pooled_test, "test.csv"));
  summary["unassigned_rows"] = unassigned;
  summary["dropped_rows"] = table.records.size() - labelled;
  const nlohmann::json launch = {{"sites", sites_json}, {"pooled", data_section(pooled)},
                                 {"global_test", data_section(pooled)}};
  FL_RETURN_IF_ERROR(AtomicWriteFile(spec.output + "/sites.json", launch.dump(2) + "\n"));
  return summary;
}

// ---- npz ----

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
    FL_RETURN_IF_ERROR(MakeDirs(dir));
    FL_RETURN_IF_ERROR(data::WriteNpz(dir + "/data.npz", out));
    summary["sites"][site.name] = js;
    sites_json[site.name] = {{"format", "npz"}, {"path", Abs(dir + "/data.npz")}, {"npz", {{"num_classes", k}}}};
  }
  const nlohmann::json whole = {{"format", "npz"}, {"path", Abs(spec.input)}, {"npz", {{"num_classes", k}}}};
  const nlohmann::json launch = {{"sites", sites_json}, {"pooled", whole}, {"global_test", whole}};
  FL_RETURN_IF_ERROR(AtomicWriteFile(spec.output + "/sites.json", launch.dump(2) + "\n"));
  return summary;
}

}  // namespace

Status CheckOutput(const Spec& spec, bool pooled) {
  std::vector<std::string> dirs;
  for (const Site& s : spec.sites) dirs.push_back(s.name);
  if (pooled) dirs.push_back("pooled");
  for (const std::string& d : dirs) {
    if (fs::exists(spec.output + "/" + d)) {
      return FailedPrecondition(spec.output + "/" + d + " exists; remove it or choose another output");
    }
  }
  return Status::Ok();
}

StatusOr<nlohmann::json> RunTabular(const Spec& spec) {
  if (spec.format == "csv") return RunCsv(spec);
  if (spec.format == "npz") return RunNpz(spec);
  return InvalidArgument("RunTabular: format must be csv or npz, not " + spec.format);
}

}  // namespace fl::prep
