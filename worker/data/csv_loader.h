// Tabular datasets from CSV files (e.g. UCI heart disease, sklearn's breast_cancer.csv).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fl/status.h"

namespace fl::data {

struct CsvOptions {
  std::string path;
  bool header = true;  // first (non-skipped, non-blank) line holds column names
  int skip_rows = 0;   // lines skipped before the header/data (sklearn's breast_cancer.csv needs 1)
  // Column name (needs header), or a decimal index like "30" or "-1" (= last). A header name
  // takes precedence over the index reading. Empty = last column.
  std::string label_column;
  char delimiter = ',';
  std::vector<std::string> missing_values = {"", "?", "NA", "NaN", "nan"};
  double test_fraction = 0.2;  // held out from this site's rows, stratified by label
  uint64_t split_seed = 1;
  Partition partition;         // applied to all rows before the train/test split
  // A separate test file with the same columns (fl-prep writes train.csv and test.csv per
  // hospital): every row of `path` is then training data and every row of `test_path` test
  // data; test_fraction does not apply and partition must be empty.
  std::string test_path;
  // The file labels of classes 0..K-1 in order, e.g. {"0","1","2","3","4"}; empty = derived
  // from the data. Hospitals whose files lack a class (label skew) list all classes so that
  // they agree on class ids and model size. A label not in the list is an error. A label
  // matches the class with the same string, else one with the same integer value ("2.0"
  // matches "2"; see FindCsvClass).
  std::vector<std::string> classes;
  bool standardize = true;     // z-score with mean/std of the TRAIN split only (std 0 -> 1)
  // A column that identifies the patient (name or index, like label_column): never a
  // feature; its value names each sample (Dataset::ids) and each prediction. Empty = none.
  std::string id_column;
};

// What LoadCsv saw, for logs and for mapping class ids back to the file's labels.
struct CsvReport {
  size_t rows_read = 0;         // data rows in the file(s) (header and blank lines excluded)
  size_t dropped_rows = 0;      // rows dropped because their label was missing
  size_t missing_features = 0;  // missing feature cells in the kept rows (whole file)
  size_t label_column = 0;      // resolved 0-based index of the label column
  std::vector<std::string> feature_names;  // header names, or "col<i>" without a header
  std::vector<std::string> class_names;    // class_names[k] = file label mapped to class k
  // Missing cells of each feature column in this site's rows (train and test), each filled
  // with the column's training mean; size feature_names.size().
  std::vector<size_t> missing_by_feature;
  size_t site_rows = 0;                     // this site's rows (train and test)
  // The hospital's preprocessing, to apply to new patients without the training file:
  // the training mean of each feature (imputation) and the scale it was divided by (1
  // without standardisation); the table's layout.
  std::vector<double> feature_mean, feature_scale;
  size_t columns = 0;                       // columns of the table
  std::vector<std::string> header;          // its header (empty without one)
  size_t id_column = static_cast<size_t>(-1);  // resolved id column, or -1 without one
};

// Loads a CSV table and returns this site's train/test split.
//
// Pipeline: parse -> drop rows whose label is missing -> map labels to classes (over the whole
// file, so all sites agree) -> keep this site's rows (PartitionRows(options.partition)) ->
// stratified train/test split -> impute missing features with the train column mean (0 when
// a column has no train value) -> optionally standardise with train mean/std (population
// std; 0 -> 1).
//
// Labels: if every label parses as an integer (an integral number like "2.0" counts), classes
// are the sorted distinct values mapped to 0..K-1; otherwise the sorted distinct strings.
// Stratified split: per class (in class order) the class's rows are shuffled with one
// SplitMix64(split_seed) stream and the first round(test_fraction * count) go to test. Rows of
// both splits are kept in file order. sample_shape = {F}.
//
// Errors name the file and, where it applies, the line and 1-based column: NotFound (missing
// file, unknown label column name), InvalidArgument (ragged row, non-numeric or non-finite
// feature, label column out of range, name without header, bad options, no usable rows),
// DataLoss (read error). Never throws.
StatusOr<Split> LoadCsv(const CsvOptions& o, CsvReport* report = nullptr);

// A column given by header name or decimal index ("3", "-1" = last); a header name takes
// precedence. `ctx` starts error messages: InvalidArgument for an index out of range or a
// name without a header, NotFound for an unknown name.
StatusOr<size_t> ResolveCsvColumn(const std::string& column, const std::vector<std::string>& header, bool has_header,
                                  size_t ncols, const std::string& ctx);

// Whether two label strings name the same class under LoadCsv's rules (equal, or the same
// integer such as "2" and "2.0").
bool SameCsvLabel(const std::string& a, const std::string& b);

// The class id of `label` in `classes`: the class with the same string, else the first
// that names the same integer (SameCsvLabel); -1 when none does.
int64_t FindCsvClass(const std::vector<std::string>& classes, const std::string& label);

// Maps label strings to class ids as LoadCsv does (sorted distinct integers when every label
// is an integer, else sorted distinct strings); class_names[k] is the label of class k.
void MapCsvLabels(const std::vector<std::string>& raw, std::vector<int64_t>* y, std::vector<std::string>* class_names);
// Refuses labels that cannot be classes (InvalidArgument naming `what`, the label and its
// row): a number that is not an integer in [0, kMaxClasses) (0.5, -1, 2e9 mean a
// continuous or corrupt column), or more than kMaxClasses distinct labels.
Status CheckCsvLabels(const std::vector<std::string>& raw, const std::string& what);

// LoadCsv's stratified train/test split of `rows` (labels y in [0, num_classes)): per class,
// in class order, the class's rows are shuffled with one SplitMix64(seed) stream and the
// first round(test_fraction * count) go to test. Both outputs are sorted.
void StratifiedSplit(const std::vector<size_t>& rows, const std::vector<int64_t>& y, size_t num_classes,
                     double test_fraction, uint64_t seed, std::vector<size_t>* train, std::vector<size_t>* test);

}  // namespace fl::data
