// fl-prep for tables: a CSV file dealt to hospitals as train.csv / test.csv per site (RunCsv).
#include <algorithm>
#include <cmath>

#include "data/csv_fields.h"
#include "data/csv_loader.h"
#include "data/csv_table.h"
#include "fl/env.h"
#include "prep/prep.h"
#include "prep/tabular_internal.h"

namespace fl::prep::internal {
namespace {

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

// Every feature cell of the kept rows is a finite number or a missing value: what the
// workers will read back, checked before anything is written.
Status CheckFeatureCells(const data::internal::CsvTable& table, const std::vector<size_t>& kept, size_t label_col,
                         size_t site_col, const Spec& spec, const std::string& ctx) {
  for (size_t r : kept) {
    const data::internal::CsvRecord& rec = table.records[r];
    for (size_t c = 0; c < rec.fields.size(); ++c) {
      if (c == label_col || c == site_col) continue;
      const std::string& f = rec.fields[c];
      if (std::find(spec.missing_values.begin(), spec.missing_values.end(), f) != spec.missing_values.end()) continue;
      double v = 0;
      if (!data::internal::ParseDouble(f, &v) || !std::isfinite(v)) {
        std::string where = ctx + " line " + std::to_string(rec.line) + " column " + std::to_string(c + 1);
        if (spec.header && c < table.header.size()) where += " ('" + data::internal::Clip(table.header[c]) + "')";
        return InvalidArgument(where + ": '" + data::internal::Clip(f) +
                               "' is neither a number nor a missing value (missing_values)");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

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
  FL_RETURN_IF_ERROR(data::CheckCsvLabels(raw, ctx));
  FL_RETURN_IF_ERROR(CheckFeatureCells(table, kept, label_col, site_col, spec, ctx));
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
    return Env::Default().WriteFile(dir + "/" + name, text);
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
    FL_RETURN_IF_ERROR(Env::Default().MakeDirs(dir));
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
  FL_RETURN_IF_ERROR(Env::Default().MakeDirs(pooled));
  FL_RETURN_IF_ERROR(write(pooled, pooled_train, "train.csv"));
  FL_RETURN_IF_ERROR(write(pooled, pooled_test, "test.csv"));
  summary["unassigned_rows"] = unassigned;
  summary["dropped_rows"] = table.records.size() - labelled;
  // The launcher's pooled baseline and global test set: the sites' own splits, each site
  // standardised with its own statistics, as its hospital sees it (pooled/ holds the same
  // rows in one file, for use outside the launcher).
  const nlohmann::json launch = {{"sites", sites_json}, {"pooled", SitesUnion(sites_json)},
                                 {"global_test", SitesUnion(sites_json)}};
  FL_RETURN_IF_ERROR(Env::Default().WriteFile(spec.output + "/sites.json", launch.dump(2) + "\n"));
  return summary;
}

}  // namespace fl::prep::internal
