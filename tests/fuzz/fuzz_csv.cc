// Fuzz target: a hospital's CSV table. Input: one byte of flags, one chunk naming the label
// column, then the CSV text.
//   flags % 5: the delimiter , ; tab | space;  flags & 8: header;  (flags >> 4) & 3: skip_rows
//   flags & 64: the chunk names the label column (else the last column)
//   flags & 128: the classes are listed (those the file's labels map to, plus "9")
// ParseCsvText, the label checks and mapping, column resolution, then LoadCsv on the same
// text (through a scratch file) with those options.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/csv_loader.h"
#include "data/csv_table.h"
#include "fuzz_files.h"
#include "fuzz_input.h"

namespace {


void CheckDataset(const fl::data::Dataset& d, int64_t features) {
  FUZZ_CHECK(d.sample_shape.size() == 1 && d.sample_shape[0] == features);
  FUZZ_CHECK(d.features.size() == d.size() * static_cast<size_t>(features));
  for (int64_t y : d.labels) FUZZ_CHECK(y >= 0 && y < d.num_classes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using namespace fl::data;
  fuzz::Input in(data, size);
  const uint8_t flags = in.U8();
  const std::string column = in.Chunk();
  const std::string text = in.Rest();

  data::internal::CsvFormat format;
  format.delimiter = ",;\t| "[flags % 5];
  format.header = (flags & 8) != 0;
  format.skip_rows = (flags >> 4) & 3;
  StatusOr<data::internal::CsvTable> table = data::internal::ParseCsvText(text, "fuzz.csv", format);
  std::vector<std::string> class_names;
  if (table.ok() && !table->records.empty()) {
    const size_t ncols = table->records[0].fields.size();
    FUZZ_CHECK(ncols >= 1);
    if (format.header) FUZZ_CHECK(table->header.size() == ncols);
    std::vector<std::string> raw;
    for (const auto& r : table->records) {
      FUZZ_CHECK(r.fields.size() == ncols && r.line >= 1);
      raw.push_back(r.fields.back());
    }
    if (CheckCsvLabels(raw, "fuzz.csv").ok()) {
      std::vector<int64_t> y;
      MapCsvLabels(raw, &y, &class_names);
      FUZZ_CHECK(y.size() == raw.size());
      for (size_t i = 0; i < y.size(); ++i) {
        FUZZ_CHECK(y[i] >= 0 && static_cast<size_t>(y[i]) < class_names.size());
        // A site that lists the classes maps each label to the same class.
        FUZZ_CHECK(FindCsvClass(class_names, raw[i]) == y[i]);
      }
    }
    StatusOr<size_t> col = ResolveCsvColumn(column, table->header, format.header, ncols, "fuzz.csv");
    if (col.ok()) FUZZ_CHECK(*col < ncols);
  }
  (void)SameCsvLabel(column, text.substr(0, 8));

  CsvOptions o;
  o.path = fuzz::WriteScratch("table.csv", text);
  o.header = format.header;
  o.skip_rows = format.skip_rows;
  o.delimiter = format.delimiter;
  if (flags & 64) o.label_column = column;
  if (flags & 128) {
    o.classes = class_names;
    o.classes.push_back("9");
  }
  CsvReport report;
  StatusOr<Split> split = LoadCsv(o, &report);
  if (split.ok()) {
    const int64_t features = static_cast<int64_t>(report.feature_names.size());
    CheckDataset(split->train, features);
    CheckDataset(split->test, features);
    FUZZ_CHECK(split->train.num_classes == static_cast<int64_t>(report.class_names.size()));
  }
  return 0;
}
