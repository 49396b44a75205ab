#include "data/csv_scoring.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "data/csv_fields.h"
#include "data/csv_table.h"

namespace fl::data {
namespace {

using internal::Clip;
using internal::ParseDouble;

constexpr size_t kNone = static_cast<size_t>(-1);

std::string FileCtx(const std::string& path) { return "csv file '" + path + "'"; }

size_t Find(const std::vector<std::string>& names, const std::string& name) {
  const auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? kNone : static_cast<size_t>(it - names.begin());
}

}  // namespace

TablePreprocessing PreprocessingOf(const CsvOptions& o, const CsvReport& r) {
  TablePreprocessing p;
  p.header = o.header;
  p.skip_rows = o.skip_rows;
  p.delimiter = o.delimiter;
  p.missing_values = o.missing_values;
  p.columns = r.columns;
  p.label_column = r.label_column;
  p.id_column = r.id_column;
  p.header_names = r.header;
  p.feature_names = r.feature_names;
  p.mean = r.feature_mean;
  p.scale = r.feature_scale;
  p.standardize = o.standardize;
  p.class_names = r.class_names;
  return p;
}

nlohmann::json PreprocessingToJson(const TablePreprocessing& p) {
  return {{"format", "csv"},
          {"header", p.header},
          {"skip_rows", p.skip_rows},
          {"delimiter", std::string(1, p.delimiter)},
          {"missing_values", p.missing_values},
          {"columns", p.columns},
          {"label_column", p.label_column},
          {"id_column", p.id_column == kNone ? nlohmann::json(nullptr) : nlohmann::json(p.id_column)},
          {"header_names", p.header_names},
          {"feature_names", p.feature_names},
          {"mean", p.mean},
          {"scale", p.scale},
          {"standardize", p.standardize},
          {"classes", p.class_names}};
}

StatusOr<TablePreprocessing> PreprocessingFromJson(const nlohmann::json& j, const std::string& what) {
  TablePreprocessing p;
  try {
    if (j.at("format") != "csv") return InvalidArgument(what + ": not a table's preprocessing");
    p.header = j.at("header").get<bool>();
    p.skip_rows = j.at("skip_rows").get<int>();
    const std::string delim = j.at("delimiter").get<std::string>();
    if (delim.size() != 1) return InvalidArgument(what + ": delimiter must be one character");
    p.delimiter = delim[0];
    p.missing_values = j.at("missing_values").get<std::vector<std::string>>();
    p.columns = j.at("columns").get<size_t>();
    p.label_column = j.at("label_column").get<size_t>();
    p.id_column = j.at("id_column").is_null() ? kNone : j.at("id_column").get<size_t>();
    p.header_names = j.at("header_names").get<std::vector<std::string>>();
    p.feature_names = j.at("feature_names").get<std::vector<std::string>>();
    p.mean = j.at("mean").get<std::vector<double>>();
    p.scale = j.at("scale").get<std::vector<double>>();
    p.standardize = j.at("standardize").get<bool>();
    p.class_names = j.at("classes").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(what + ": " + e.what());
  }
  const size_t n = p.feature_names.size();
  const bool finite = std::all_of(p.mean.begin(), p.mean.end(), [](double v) { return std::isfinite(v); }) &&
                      std::all_of(p.scale.begin(), p.scale.end(), [](double v) { return std::isfinite(v) && v > 0; });
  if (n == 0 || p.mean.size() != n || p.scale.size() != n || !finite || p.columns < n + 1 ||
      p.columns > n + 2 || p.label_column >= p.columns || (p.id_column != kNone && p.id_column >= p.columns) ||
      (p.header && p.header_names.size() != p.columns) || p.class_names.empty() || p.skip_rows < 0) {
    return InvalidArgument(what + ": inconsistent preprocessing (features, statistics or layout)");
  }
  return p;
}

StatusOr<SamplesToScore> ReadSamplesToScore(const std::string& path, const TablePreprocessing& p) {
  const std::string ctx = FileCtx(path);
  internal::CsvFormat format;
  format.delimiter = p.delimiter;
  format.skip_rows = p.skip_rows;
  format.header = p.header;
  FL_ASSIGN_OR_RETURN(internal::CsvTable table, internal::ReadCsvFile(path, format));
  if (table.records.empty()) return InvalidArgument(ctx + ": no rows to score");
  const size_t nfeat = p.feature_names.size();
  // Where each feature, the label and the id are in this file.
  std::vector<size_t> feature_col(nfeat);
  size_t label_col = kNone, id_col = kNone;
  if (p.header) {
    for (size_t j = 0; j < nfeat; ++j) {
      feature_col[j] = Find(table.header, p.feature_names[j]);
      if (feature_col[j] == kNone) return InvalidArgument(ctx + ": no column '" + Clip(p.feature_names[j]) + "'");
    }
    label_col = Find(table.header, p.header_names[p.label_column]);
    if (p.id_column != kNone) id_col = Find(table.header, p.header_names[p.id_column]);
  } else {
    const size_t width = table.records.front().fields.size();
    const bool with_label = width == p.columns;
    if (!with_label && width != p.columns - 1) {
      return InvalidArgument(ctx + ": " + std::to_string(width) + " columns; the hospital's table has " +
                             std::to_string(p.columns) + " (or " + std::to_string(p.columns - 1) +
                             " without its label column)");
    }
    // Columns after the label move one left when the label column is left out.
    auto here = [&](size_t c) { return with_label || c < p.label_column ? c : c - 1; };
    size_t j = 0;
    for (size_t c = 0; c < p.columns; ++c) {
      if (c != p.label_column && c != p.id_column) feature_col[j++] = here(c);
    }
    if (with_label) label_col = p.label_column;
    if (p.id_column != kNone) id_col = here(p.id_column);
  }
  const auto missing = [&](const std::string& s) {
    return std::find(p.missing_values.begin(), p.missing_values.end(), s) != p.missing_values.end();
  };
  SamplesToScore out;
  Dataset& d = out.data;
  d.sample_shape = {static_cast<int64_t>(nfeat)};
  d.num_classes = static_cast<int64_t>(p.class_names.size());
  size_t row = 0;
  for (const internal::CsvRecord& rec : table.records) {
    ++row;
    for (size_t j = 0; j < nfeat; ++j) {
      const std::string& cell = rec.fields[feature_col[j]];
      double v = p.mean[j];
      if (!missing(cell)) {
        if (!ParseDouble(cell, &v) || !std::isfinite(v) || std::fabs(v) > FLT_MAX) {
          return InvalidArgument(ctx + " line " + std::to_string(rec.line) + " column '" + Clip(p.feature_names[j]) +
                                 "': not a number: '" + Clip(cell) + "'");
        }
      }
      if (p.standardize) v = (v - p.mean[j]) / p.scale[j];
      d.features.push_back(static_cast<float>(v));
    }
    d.labels.push_back(0);
    d.ids.push_back(id_col != kNone ? rec.fields[id_col] : "row " + std::to_string(row));
    out.given_labels.push_back(label_col != kNone ? rec.fields[label_col] : "");
  }
  return out;
}

}  // namespace fl::data
