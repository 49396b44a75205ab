// Tests for worker/data: the CSV loader.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "data/csv_loader.h"
#include "data/dataset.h"
#include "data/rng.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::CsvOptions;
using fl::data::CsvReport;
using fl::data::Dataset;
using fl::data::LoadCsv;
using fl::data::Partition;
using fl::data::PartitionRows;
using Catch::Matchers::Contains;

namespace {

const char kBreastCancer[] = "/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv";
const std::string kCleveland =
    std::string(FL_SHARED_DATA_DIR) + "/heart_disease/processed.cleveland.data";

// A fresh directory that also writes files.
class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_csv_test_") {}
};

// Column j of a dataset as doubles.
std::vector<double> Column(const Dataset& d, size_t j) {
  const auto f = static_cast<size_t>(d.SampleNumel());
  std::vector<double> out;
  for (size_t i = 0; i < d.size(); ++i) out.push_back(d.features[i * f + j]);
  return out;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double PopulationStd(const std::vector<double>& v) {
  const double m = Mean(v);
  double sq = 0.0;
  for (double x : v) sq += (x - m) * (x - m);
  return std::sqrt(sq / static_cast<double>(v.size()));
}

// All rows (train and test) of a split, each row as a vector, sorted.
std::vector<std::vector<float>> SortedRows(const fl::data::Split& s) {
  std::vector<std::vector<float>> rows;
  for (const Dataset* d : {&s.train, &s.test}) {
    const auto f = static_cast<size_t>(d->SampleNumel());
    for (size_t i = 0; i < d->size(); ++i) {
      std::vector<float> r(d->features.begin() + i * f, d->features.begin() + (i + 1) * f);
      r.push_back(static_cast<float>(d->labels[i]));
      rows.push_back(std::move(r));
    }
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

}  // namespace

// ---- CSV: real files ---------------------------------------------------------------------

TEST_CASE("csv: breast cancer file loads with the expected shapes", "[data][csv]") {
  if (!fs::exists(kBreastCancer)) {
    WARN("skipped: missing " << kBreastCancer);
    return;
  }
  CsvOptions o;
  o.path = kBreastCancer;
  o.header = false;
  o.skip_rows = 1;
  o.label_column = GENERATE(as<std::string>{}, "30", "-1", "");
  CsvReport report;
  auto split = LoadCsv(o, &report);
  REQUIRE(split.ok());
  CHECK(report.rows_read == 569);
  CHECK(report.dropped_rows == 0);
  CHECK(report.label_column == 30);
  CHECK(report.class_names == std::vector<std::string>{"0", "1"});
  const Dataset& tr = split->train;
  const Dataset& te = split->test;
  CHECK(tr.sample_shape == std::vector<int64_t>{30});
  CHECK(te.sample_shape == std::vector<int64_t>{30});
  CHECK(tr.num_classes == 2);
  // 212 malignant (0) and 357 benign (1): round(42.4) + round(71.4) = 113 test rows.
  CHECK(te.size() == 113);
  CHECK(tr.size() == 456);
  CHECK(tr.features.size() == 456 * 30);
  CHECK(std::count(te.labels.begin(), te.labels.end(), 0) == 42);
  for (float v : tr.features) REQUIRE(std::isfinite(v));
}

TEST_CASE("csv: breast cancer train split is standardised per column", "[data][csv]") {
  if (!fs::exists(kBreastCancer)) {
    WARN("skipped: missing " << kBreastCancer);
    return;
  }
  CsvOptions o;
  o.path = kBreastCancer;
  o.header = false;
  o.skip_rows = 1;
  o.label_column = "30";
  auto split = LoadCsv(o);
  REQUIRE(split.ok());
  for (size_t j = 0; j < 30; ++j) {
    const auto col = Column(split->train, j);
    CHECK(std::fabs(Mean(col)) < 1e-4);
    CHECK(std::fabs(PopulationStd(col) - 1.0) < 1e-4);
  }
  // The test split uses the train statistics, so it is only roughly standardised.
  const auto test_col = Column(split->test, 0);
  CHECK(std::fabs(Mean(test_col)) < 0.5);
}

TEST_CASE("csv: sites of a partitioned file are disjoint and cover the file", "[data][csv]") {
  if (!fs::exists(kBreastCancer)) {
    WARN("skipped: missing " << kBreastCancer);
    return;
  }
  CsvOptions o;
  o.path = kBreastCancer;
  o.header = false;
  o.skip_rows = 1;
  o.label_column = "-1";
  o.standardize = false;  // raw values, so rows can be compared across sites
  auto whole = LoadCsv(o);
  REQUIRE(whole.ok());
  o.partition.weights = {1, 2, 1};
  o.partition.seed = 99;
  std::vector<std::vector<float>> from_sites;
  size_t total = 0;
  for (size_t i = 0; i < 3; ++i) {
    o.partition.index = i;
    auto site = LoadCsv(o);
    REQUIRE(site.ok());
    CHECK(site->train.num_classes == 2);  // classes come from the whole file
    total += site->train.size() + site->test.size();
    const auto rows = SortedRows(*site);
    from_sites.insert(from_sites.end(), rows.begin(), rows.end());
  }
  CHECK(total == 569);
  std::sort(from_sites.begin(), from_sites.end());
  CHECK(from_sites == SortedRows(*whole));
}

TEST_CASE("csv: heart disease Cleveland file with missing values", "[data][csv]") {
  if (!fs::exists(kCleveland)) {
    WARN("skipped: missing " << kCleveland);
    return;
  }
  CsvOptions o;
  o.path = kCleveland;
  o.header = false;
  o.label_column = "13";
  CsvReport report;
  auto split = LoadCsv(o, &report);
  REQUIRE(split.ok());
  CHECK(report.rows_read == 303);
  CHECK(report.missing_features == 6);  // 4 in "ca", 2 in "thal"
  CHECK(report.class_names == std::vector<std::string>{"0", "1", "2", "3", "4"});
  CHECK(split->train.num_classes == 5);
  CHECK(split->train.sample_shape == std::vector<int64_t>{13});
  CHECK(split->train.size() + split->test.size() == 303);
  // Per class round(0.2 * {164, 55, 36, 35, 13}) = 33 + 11 + 7 + 7 + 3.
  CHECK(split->test.size() == 61);
  for (float v : split->train.features) REQUIRE(std::isfinite(v));
  for (float v : split->test.features) REQUIRE(std::isfinite(v));
}

// ---- CSV: synthetic files ----------------------------------------------------------------

TEST_CASE("csv: missing feature values are imputed with the train column mean", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("m.csv",
                     "id,x,z,y\n"
                     "0,1,?,0\n1,?,5,1\n2,3,NA,0\n3,nan,7,1\n"
                     "4,5,,0\n5,,9,1\n6,7,NaN,0\n7,9,11,1\n");
  o.label_column = "y";
  o.standardize = false;

  SECTION("everything in train") {
    o.test_fraction = 0.0;
    auto s = LoadCsv(o);
    REQUIRE(s.ok());
    REQUIRE(s->train.size() == 8);
    // x: present 1,3,5,7,9 -> mean 5; z: present 5,7,9,11 -> mean 8.
    const auto x = Column(s->train, 1), z = Column(s->train, 2);
    CHECK(x == std::vector<double>{1, 5, 3, 5, 5, 5, 7, 9});
    CHECK(z == std::vector<double>{8, 5, 8, 7, 8, 9, 8, 11});
  }
  SECTION("test rows use the train mean") {
    o.test_fraction = 0.5;
    auto s = LoadCsv(o);
    REQUIRE(s.ok());
    REQUIRE(s->test.size() == 4);
    const std::set<int> x_missing = {1, 3, 5};
    double sum = 0.0;  // mean of x over the train rows where it is present
    int count = 0;
    for (size_t i = 0; i < s->train.size(); ++i) {
      if (!x_missing.count(static_cast<int>(s->train.features[i * 3]))) {
        sum += s->train.features[i * 3 + 1];
        ++count;
      }
    }
    const double mean = count ? sum / count : 0.0;
    for (const Dataset* d : {&s->train, &s->test}) {
      for (size_t i = 0; i < d->size(); ++i) {
        if (x_missing.count(static_cast<int>(d->features[i * 3]))) {
          CHECK(d->features[i * 3 + 1] == Approx(mean));
        }
      }
    }
  }
}

TEST_CASE("csv: rows with a missing label are dropped and counted", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("d.csv", "a,label\n1,0\n2,?\n3,1\n4,\n5,1\n");
  o.label_column = "label";
  o.test_fraction = 0.0;
  CsvReport report;
  auto s = LoadCsv(o, &report);
  REQUIRE(s.ok());
  CHECK(report.rows_read == 5);
  CHECK(report.dropped_rows == 2);
  CHECK(s->train.size() == 3);
}

TEST_CASE("csv: labels map to sorted distinct classes", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.header = false;
  o.test_fraction = 0.0;
  o.standardize = false;
  CsvReport report;

  SECTION("strings") {
    o.path = dir.Write("s.csv", "1,cat\n2,ant\n3,bee\n4,cat\n5,\"ant\"\n");
    auto s = LoadCsv(o, &report);
    REQUIRE(s.ok());
    CHECK(s->train.labels == std::vector<int64_t>{2, 0, 1, 2, 0});
    CHECK(s->train.num_classes == 3);
    CHECK(report.class_names == std::vector<std::string>{"ant", "bee", "cat"});
  }
  SECTION("integers sort numerically, not as strings") {
    // (numeric labels are classes 0..999: a negative one is refused, test_hostile_values.cc)
    o.path = dir.Write("i.csv", "1,10\n2,1\n3,2\n4,2.0\n5,+10\n");
    auto s = LoadCsv(o, &report);
    REQUIRE(s.ok());
    CHECK(s->train.labels == std::vector<int64_t>{2, 0, 1, 1, 2});
    CHECK(report.class_names == std::vector<std::string>{"1", "2", "10"});
  }
  SECTION("a single non-integer makes all labels strings") {
    o.path = dir.Write("x.csv", "1,10\n2,9\n3,x\n");
    auto s = LoadCsv(o, &report);
    REQUIRE(s.ok());
    CHECK(report.class_names == std::vector<std::string>{"10", "9", "x"});
  }
}

TEST_CASE("csv: header, named label column, quotes, CRLF and odd line endings", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.label_column = "diagnosis";
  o.test_fraction = 0.0;
  o.standardize = false;
  CsvReport report;
  const std::string text = GENERATE(
      as<std::string>{},
      "\"diagnosis\",\"age, years\",bp\r\n\"sick, very\",61,120\r\nwell,\"45\" , 130\r\n",
      "\xEF\xBB\xBF" "diagnosis,\"age, years\",bp\n\n\"sick, very\",61,120\n  well , 45,130",
      "diagnosis,\"age, years\",bp\r\"sick, very\",61,120\rwell,45,130\r\r");
  o.path = dir.Write("h.csv", text);
  auto s = LoadCsv(o, &report);
  REQUIRE(s.ok());
  CHECK(report.feature_names == std::vector<std::string>{"age, years", "bp"});
  CHECK(report.class_names == std::vector<std::string>{"sick, very", "well"});
  CHECK(s->train.features == std::vector<float>{61, 120, 45, 130});
  CHECK(s->train.labels == std::vector<int64_t>{0, 1});
}

TEST_CASE("csv: stratified split keeps class proportions and is deterministic", "[data][csv]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 100; ++i) text += std::to_string(i) + "," + (i < 70 ? "a" : "b") + "\n";
  CsvOptions o;
  o.path = dir.Write("strat.csv", text);
  o.header = false;
  o.test_fraction = 0.25;
  o.standardize = false;
  auto s1 = LoadCsv(o);
  auto s2 = LoadCsv(o);
  REQUIRE(s1.ok());
  REQUIRE(s2.ok());
  const auto& te = s1->test.labels;
  CHECK(std::count(te.begin(), te.end(), 0) == 18);  // round(17.5) = 18
  CHECK(std::count(te.begin(), te.end(), 1) == 8);   // round(7.5) = 8
  CHECK(s1->test.features == s2->test.features);
  CHECK(std::is_sorted(s1->train.features.begin(), s1->train.features.end()));  // file order
  o.split_seed = 2;
  auto s3 = LoadCsv(o);
  REQUIRE(s3.ok());
  CHECK(s3->test.features != s1->test.features);
}

TEST_CASE("csv: a constant column standardises to zero", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("c.csv", "0.1,1,0\n0.1,2,1\n0.1,3,0\n0.1,4,1\n");
  o.header = false;
  o.test_fraction = 0.0;
  auto s = LoadCsv(o);
  REQUIRE(s.ok());
  for (double v : Column(s->train, 0)) CHECK(v == 0.0);
  CHECK(PopulationStd(Column(s->train, 1)) == Approx(1.0));
}

TEST_CASE("csv: errors name the file and the problem", "[data][csv]") {
  TempDir dir;
  CsvOptions o;
  o.label_column = "y";

  SECTION("missing file") {
    o.path = dir.path() + "/does_not_exist.csv";
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("does_not_exist.csv"));
  }
  SECTION("a directory") {
    o.path = dir.path();
    CHECK(LoadCsv(o).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("ragged row names the line") {
    o.path = dir.Write("ragged.csv", "skipped line\na,b,y\n1,2,0\n\n1,2\n");
    o.skip_rows = 1;
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("ragged.csv") && Contains("line 5") &&
                                         Contains("expected 3 fields") && Contains("found 2"));
  }
  SECTION("non-numeric feature names line and column") {
    o.path = dir.Write("text.csv", "a,b,y\n1,2,0\n1,abc,1\n");
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("text.csv") && Contains("line 3") &&
                                         Contains("column 2") && Contains("'b'") &&
                                         Contains("abc"));
  }
  SECTION("non-finite feature") {
    o.path = dir.Write("inf.csv", "a,b,y\n1,inf,0\n");
    CHECK_THAT(LoadCsv(o).status().message(), Contains("line 2") && Contains("non-finite"));
    o.path = dir.Write("big.csv", "a,b,y\n1,1e300,0\n");
    CHECK_THAT(LoadCsv(o).status().message(), Contains("float range"));
  }
  SECTION("label column out of range") {
    o.path = dir.Write("r.csv", "1,2,0\n");
    o.header = false;
    o.label_column = GENERATE(as<std::string>{}, "3", "-4", "99999999999999999999");
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("r.csv") && Contains("out of range"));
  }
  SECTION("label name without header") {
    o.path = dir.Write("nh.csv", "1,2,0\n");
    o.header = false;
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("header") && Contains("'y'"));
  }
  SECTION("unknown label name") {
    o.path = dir.Write("u.csv", "a,b,c\n1,2,0\n");
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("'y'") && Contains("'a'"));
  }
  SECTION("unterminated quote") {
    o.path = dir.Write("q.csv", "a,y\n1,0\n\"2,1\n3,0\n");
    CHECK_THAT(LoadCsv(o).status().message(), Contains("line 3") && Contains("unterminated"));
  }
  SECTION("text after a closing quote") {
    o.path = dir.Write("q2.csv", "a,y\n\"1\"x,0\n");
    CHECK_THAT(LoadCsv(o).status().message(), Contains("line 2"));
  }
  SECTION("empty file, header only, all labels missing") {
    o.path = dir.Write("e.csv", GENERATE(as<std::string>{}, "", "\n\n", "a,y\n", "a,y\n1,?\n"));
    auto s = LoadCsv(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("e.csv"));
  }
  SECTION("bad options") {
    o.path = dir.Write("ok.csv", "a,y\n1,0\n2,1\n");
    SECTION("test_fraction") {
      o.test_fraction = GENERATE(-0.1, 1.5, std::numeric_limits<double>::quiet_NaN());
      CHECK(LoadCsv(o).status().code() == StatusCode::kInvalidArgument);
    }
    SECTION("skip_rows") {
      o.skip_rows = -1;
      CHECK(LoadCsv(o).status().code() == StatusCode::kInvalidArgument);
    }
    SECTION("partition index") {
      o.partition.weights = {1, 1};
      o.partition.index = 2;
      auto s = LoadCsv(o);
      CHECK(s.status().code() == StatusCode::kInvalidArgument);
      CHECK_THAT(s.status().message(), Contains("ok.csv") && Contains("partition"));
    }
  }
}

TEST_CASE("csv: no crash on random bytes", "[data][csv]") {
  TempDir dir;
  std::mt19937 gen(5);  // only drives the fuzzing, not the code under test
  const std::string alphabet = "0123456789.,-+e\"\n\r ?abc";
  for (int trial = 0; trial < 300; ++trial) {
    std::string text;
    const int len = static_cast<int>(gen() % 200);
    for (int i = 0; i < len; ++i) text += alphabet[gen() % alphabet.size()];
    CsvOptions o;
    o.path = dir.Write("fuzz.csv", text);
    o.header = (trial % 2) == 0;
    o.label_column = (trial % 3) == 0 ? "" : "0";
    auto s = LoadCsv(o);  // any Status is fine; it must simply not crash
    if (s.ok()) {
      for (const Dataset* d : {&s->train, &s->test}) {
        REQUIRE(d->features.size() == d->size() * static_cast<size_t>(d->SampleNumel()));
        for (int64_t y : d->labels) REQUIRE((y >= 0 && y < d->num_classes));
      }
    }
  }
}
