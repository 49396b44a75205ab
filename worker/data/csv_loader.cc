// LoadCsv: a CSV table parsed, imputed and standardised into this site's train/test split.
#include "data/csv_loader.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "data/csv_fields.h"
#include "data/csv_table.h"

namespace fl::data {
namespace {

constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

std::string FileCtx(const std::string& path) { return "csv file '" + path + "'"; }

using internal::Clip;
using internal::ParseDouble;

// Copies the given rows of the parsed matrix into a Dataset, imputing and scaling.
Dataset BuildDataset(const std::vector<double>& x, const std::vector<int64_t>& y, size_t nfeat,
                     const std::vector<size_t>& rows, const std::vector<double>& mean,
                     const std::vector<double>& scale, bool standardize, int64_t num_classes,
                     const std::vector<std::string>& row_ids) {
  Dataset d;
  d.sample_shape = {static_cast<int64_t>(nfeat)};
  d.num_classes = num_classes;
  d.labels.reserve(rows.size());
  d.features.reserve(rows.size() * nfeat);
  d.ids.reserve(rows.size());
  for (size_t r : rows) {
    d.labels.push_back(y[r]);
    d.ids.push_back(row_ids[r]);
    for (size_t j = 0; j < nfeat; ++j) {
      double v = x[r * nfeat + j];
      if (std::isnan(v)) v = mean[j];
      if (standardize) v = (v - mean[j]) / scale[j];
      d.features.push_back(static_cast<float>(v));
    }
  }
  return d;
}

StatusOr<Split> LoadCsvImpl(const CsvOptions& o, CsvReport* report) {
  const std::string ctx = FileCtx(o.path);
  if (!std::isfinite(o.test_fraction) || o.test_fraction < 0.0 || o.test_fraction > 1.0) {
    return InvalidArgument(ctx + ": test_fraction must be in [0, 1], got " +
                           std::to_string(o.test_fraction));
  }
  internal::CsvFormat format;
  format.delimiter = o.delimiter;
  format.skip_rows = o.skip_rows;
  format.header = o.header;
  FL_ASSIGN_OR_RETURN(internal::CsvTable table, internal::ReadCsvFile(o.path, format));
  if (table.records.empty()) return InvalidArgument(ctx + ": no data rows");
  const size_t ncols = o.header ? table.header.size() : table.records.front().fields.size();
  size_t label_col = ncols - 1;
  if (!o.label_column.empty()) {
    FL_ASSIGN_OR_RETURN(label_col, ResolveCsvColumn(o.label_column, table.header, o.header, ncols, ctx));
  }
  size_t id_col = static_cast<size_t>(-1);  // none
  if (!o.id_column.empty()) {
    FL_ASSIGN_OR_RETURN(id_col, ResolveCsvColumn(o.id_column, table.header, o.header, ncols, ctx));
    if (id_col == label_col) return InvalidArgument(ctx + ": the id column cannot be the label column");
  }
  const auto is_feature = [&](size_t c) { return c != label_col && c != id_col; };
  // A separate test file: its records follow the training file's, told apart by index.
  const size_t n_train_records = table.records.size();
  const std::string test_ctx = FileCtx(o.test_path);
  if (!o.test_path.empty()) {
    if (!o.partition.weights.empty()) {
      return InvalidArgument(ctx + ": a partition cannot be combined with a separate test file");
    }
    FL_ASSIGN_OR_RETURN(internal::CsvTable test, internal::ReadCsvFile(o.test_path, format));
    if (test.records.empty()) return InvalidArgument(test_ctx + ": no data rows");
    if (o.header ? test.header != table.header : test.records.front().fields.size() != ncols) {
      return InvalidArgument(test_ctx + ": its columns differ from those of " + o.path);
    }
    for (internal::CsvRecord& r : test.records) table.records.push_back(std::move(r));
  }
  const size_t nfeat = ncols - 1 - (id_col < ncols ? 1 : 0);
  if (nfeat < 1) {
    return InvalidArgument(ctx + ": needs at least one feature column besides the label and the id");
  }

  CsvReport rep;
  rep.rows_read = table.records.size();
  rep.label_column = label_col;
  rep.columns = ncols;
  rep.header = table.header;
  rep.id_column = id_col;
  for (size_t c = 0; c < ncols; ++c) {
    if (!is_feature(c)) continue;
    rep.feature_names.push_back(o.header ? table.header[c] : "col" + std::to_string(c));
  }
  const auto is_missing = [&](const std::string& s) {
    return std::find(o.missing_values.begin(), o.missing_values.end(), s) !=
           o.missing_values.end();
  };

  // Parse: features into a dense matrix (NaN = missing), labels as strings.
  std::vector<double> x;
  x.reserve(table.records.size() * nfeat);
  std::vector<std::string> raw_labels;
  raw_labels.reserve(table.records.size());
  std::vector<size_t> kept_records;  // record index of each kept row
  for (size_t ri = 0; ri < table.records.size(); ++ri) {
    internal::CsvRecord& rec = table.records[ri];
    const std::string& rctx = ri < n_train_records ? ctx : test_ctx;
    if (is_missing(rec.fields[label_col])) {
      ++rep.dropped_rows;
      continue;
    }
    for (size_t c = 0; c < ncols; ++c) {
      if (!is_feature(c)) continue;
      const std::string& f = rec.fields[c];
      if (is_missing(f)) {
        x.push_back(kMissing);
        ++rep.missing_features;
        continue;
      }
      double v = 0.0;
      const bool numeric = ParseDouble(f, &v);
      if (!numeric || !std::isfinite(v) || std::fabs(v) > FLT_MAX) {
        std::string where = rctx + " line " + std::to_string(rec.line) + " column " +
                            std::to_string(c + 1);
        if (o.header) where += " ('" + Clip(table.header[c]) + "')";
        const char* what = !numeric             ? ": non-numeric value '"
                           : !std::isfinite(v) ? ": non-finite value '"
                                               : ": value out of float range '";
        return InvalidArgument(where + what + Clip(f) + "'");
      }
      x.push_back(v);
    }
    raw_labels.push_back(std::move(rec.fields[label_col]));
    kept_records.push_back(ri);
  }
  const size_t n = raw_labels.size();
  if (n == 0) {
    return InvalidArgument(ctx + ": all " + std::to_string(rep.rows_read) +
                           " rows have a missing label");
  }

  std::vector<int64_t> y;
  if (o.classes.empty()) {
    FL_RETURN_IF_ERROR(CheckCsvLabels(raw_labels, ctx));
    MapCsvLabels(raw_labels, &y, &rep.class_names);
  } else {
    rep.class_names = o.classes;
    y.assign(n, 0);
    for (size_t i = 0; i < n; ++i) {
      const int64_t id = FindCsvClass(o.classes, raw_labels[i]);
      if (id < 0) {
        const size_t ri = kept_records[i];
        return InvalidArgument((ri < n_train_records ? ctx : test_ctx) + " line " +
                               std::to_string(table.records[ri].line) + ": label '" + Clip(raw_labels[i]) +
                               "' is not one of the configured classes");
      }
      y[i] = id;
    }
  }
  const size_t num_classes = rep.class_names.size();

  // This site's rows, then the stratified split (or the rows of the separate test file).
  std::vector<size_t> train_rows, test_rows;
  if (o.test_path.empty()) {
    StatusOr<std::vector<size_t>> site = PartitionRowsByLabel(y, o.partition);
    if (!site.ok()) return site.status().WithContext(ctx);
    StratifiedSplit(*site, y, num_classes, o.test_fraction, o.split_seed, &train_rows, &test_rows);
  } else {
    for (size_t i = 0; i < n; ++i) (kept_records[i] < n_train_records ? train_rows : test_rows).push_back(i);
    if (train_rows.empty()) return InvalidArgument(ctx + ": every row has a missing label");
    if (test_rows.empty()) return InvalidArgument(test_ctx + ": every row has a missing label");
  }

  rep.site_rows = train_rows.size() + test_rows.size();
  rep.missing_by_feature.assign(nfeat, 0);
  for (const std::vector<size_t>* rows : {&train_rows, &test_rows}) {
    for (size_t r : *rows) {
      for (size_t j = 0; j < nfeat; ++j) rep.missing_by_feature[j] += std::isnan(x[r * nfeat + j]) ? 1 : 0;
    }
  }

  // Train statistics: mean over present values (imputation), population std after imputing.
  std::vector<double> mean(nfeat, 0.0), scale(nfeat, 1.0);
  for (size_t j = 0; j < nfeat; ++j) {
    double sum = 0.0;
    size_t count = 0;
    for (size_t r : train_rows) {
      const double v = x[r * nfeat + j];
      if (!std::isnan(v)) {
        sum += v;
        ++count;
      }
    }
    mean[j] = count > 0 ? sum / static_cast<double>(count) : 0.0;
    if (!o.standardize || train_rows.empty()) continue;
    double sq = 0.0;
    for (size_t r : train_rows) {
      const double v = x[r * nfeat + j];
      if (!std::isnan(v)) sq += (v - mean[j]) * (v - mean[j]);  // imputed cells add 0
    }
    const double sd = std::sqrt(sq / static_cast<double>(train_rows.size()));
    // A constant column has sd 0 up to rounding of the mean: keep it at scale 1 (-> all 0).
    if (std::isfinite(sd) && sd > 1e-9 * std::fabs(mean[j]) && sd > 0.0) scale[j] = sd;
  }

  rep.feature_mean = mean;
  rep.feature_scale = o.standardize ? scale : std::vector<double>(nfeat, 1.0);
  Split split;
  const auto k = static_cast<int64_t>(num_classes);
  std::vector<std::string> row_ids(n);  // "FILE:LINE" of each kept row
  for (size_t i = 0; i < n; ++i) {
    const size_t ri = kept_records[i];
    row_ids[i] = id_col < ncols ? table.records[ri].fields[id_col]
                                : (ri < n_train_records ? o.path : o.test_path) + ":" + std::to_string(table.records[ri].line);
  }
  split.train = BuildDataset(x, y, nfeat, train_rows, mean, scale, o.standardize, k, row_ids);
  split.test = BuildDataset(x, y, nfeat, test_rows, mean, scale, o.standardize, k, row_ids);
  if (report != nullptr) *report = std::move(rep);
  return split;
}

}  // namespace

StatusOr<Split> LoadCsv(const CsvOptions& o, CsvReport* report) {
  try {
    return LoadCsvImpl(o, report);
  } catch (const std::exception& e) {  // e.g. std::bad_alloc on a huge file
    return Internal(FileCtx(o.path) + ": " + e.what());
  }
}

}  // namespace fl::data
