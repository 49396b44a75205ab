// New patients' rows scored with a hospital's own preprocessing, without its training file:
// the preprocessing a hospital applies to its table (imputation means, standardisation,
// classes, layout) as JSON, and reading a table to score with it. The table may lack the
// label column, or have it empty; every row is kept, in file order, named by the id
// column or by its row number.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/csv_loader.h"
#include "data/dataset.h"
#include "fl/status.h"

namespace fl::data {

struct TablePreprocessing {
  // How the hospital's table is laid out and read.
  bool header = true;
  int skip_rows = 0;
  char delimiter = ',';
  std::vector<std::string> missing_values;
  size_t columns = 0;
  size_t label_column = 0;
  size_t id_column = static_cast<size_t>(-1);  // -1: none
  std::vector<std::string> header_names;        // the whole header (empty without one)
  // The features, in model order, and what was done to them.
  std::vector<std::string> feature_names;
  std::vector<double> mean;   // imputation value (the training mean)
  std::vector<double> scale;  // divided by after subtracting the mean, when standardize
  bool standardize = true;
  std::vector<std::string> class_names;  // class k's label in the file
};

// The preprocessing LoadCsv(o) applied, from its report.
TablePreprocessing PreprocessingOf(const CsvOptions& o, const CsvReport& report);
nlohmann::json PreprocessingToJson(const TablePreprocessing& p);
// InvalidArgument naming `what` when a field is missing or inconsistent.
StatusOr<TablePreprocessing> PreprocessingFromJson(const nlohmann::json& j, const std::string& what);

// Reads `path` laid out as the hospital's table (with a header: the columns found by name,
// in any order; without: the same columns, or all but the label column). Missing values
// are imputed, a non-numeric value is an error naming its line and column.
StatusOr<SamplesToScore> ReadSamplesToScore(const std::string& path, const TablePreprocessing& p);

}  // namespace fl::data
