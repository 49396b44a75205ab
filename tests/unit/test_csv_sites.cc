// Tests for what lets hospitals load their own files (fl-prep's output): LoadCsv with a separate
// test file and explicit classes, the label and column helpers, and LoadNpz's num_classes.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "data/csv_loader.h"
#include "data/dataset.h"
#include "data/npz_loader.h"

using fl::StatusCode;
using fl::data::CsvOptions;
using fl::data::CsvReport;
using fl::data::Dataset;
using fl::data::FindCsvClass;
using fl::data::LoadCsv;
using fl::data::MapCsvLabels;
using fl::data::ResolveCsvColumn;
using fl::data::SameCsvLabel;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_csv_sites_test_") {}
};

std::vector<double> Column(const Dataset& d, size_t j) {
  const auto f = static_cast<size_t>(d.SampleNumel());
  std::vector<double> out;
  for (size_t i = 0; i < d.size(); ++i) out.push_back(d.features[i * f + j]);
  return out;
}

}  // namespace

// ---- LoadCsv with a separate test file ---------------------------------------------------

TEST_CASE("csv sites: with test_path every row of path trains and every row of test_path tests",
          "[data][csv_sites]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("train.csv", "id,x,y\n0,1,a\n1,2,b\n2,3,a\n3,?,b\n4,4,?\n");
  o.test_path = dir.Write("test.csv", "id,x,y\n10,7,b\n11,?,a\n12,9,NA\n13,5,b\n");
  o.label_column = "y";
  o.standardize = false;
  o.test_fraction = 0.5;  // ignored with a test file
  CsvReport report;
  auto s = LoadCsv(o, &report);
  REQUIRE(s.ok());
  CHECK(Column(s->train, 0) == std::vector<double>{0, 1, 2, 3});  // file order, row 4 has no label
  CHECK(Column(s->test, 0) == std::vector<double>{10, 11, 13});
  CHECK(s->train.labels == std::vector<int64_t>{0, 1, 0, 1});
  CHECK(s->test.labels == std::vector<int64_t>{1, 0, 1});
  CHECK(s->train.num_classes == 2);
  CHECK(s->test.num_classes == 2);
  CHECK(report.rows_read == 9);
  CHECK(report.dropped_rows == 2);
  CHECK(report.class_names == std::vector<std::string>{"a", "b"});
  // Missing x is imputed with the TRAIN mean (1+2+3)/3 = 2, in both files.
  CHECK(Column(s->train, 1) == std::vector<double>{1, 2, 3, 2});
  CHECK(Column(s->test, 1) == std::vector<double>{7, 2, 5});
}

TEST_CASE("csv sites: standardisation with a test file uses the train statistics only", "[data][csv_sites]") {
  TempDir dir;
  CsvOptions o;
  o.header = false;
  o.label_column = "0";
  o.path = dir.Write("train.csv", "0,1,10\n1,3,10\n0,5,10\n1,7,10\n");
  o.test_path = dir.Write("test.csv", "1,100,20\n0,-3,10\n");
  auto s = LoadCsv(o);
  REQUIRE(s.ok());
  // Column 1: train mean 4, population std sqrt(5); column 2 is constant in train (scale 1).
  const double sd = std::sqrt(5.0);
  const auto tr = Column(s->train, 0);
  REQUIRE(tr.size() == 4);
  CHECK(tr[0] == Approx(-3 / sd));
  CHECK(tr[3] == Approx(3 / sd));
  CHECK(Column(s->train, 1) == std::vector<double>{0, 0, 0, 0});
  const auto te = Column(s->test, 0);
  REQUIRE(te.size() == 2);
  CHECK(te[0] == Approx(96 / sd));
  CHECK(te[1] == Approx(-7 / sd));
  CHECK(Column(s->test, 1) == std::vector<double>{10, 0});
  CHECK(s->test.labels == std::vector<int64_t>{1, 0});
}

TEST_CASE("csv sites: test_path errors", "[data][csv_sites]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("train.csv", "a,b,y\n1,2,0\n3,4,1\n");
  o.label_column = "y";

  SECTION("a header that differs names the test file") {
    o.test_path = dir.Write("other.csv", "a,c,y\n1,2,0\n");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("other.csv") && Contains("columns differ"));
  }
  SECTION("without a header, a different column count names the test file") {
    o.header = false;
    o.label_column = "-1";
    o.path = dir.Write("t3.csv", "1,2,0\n3,4,1\n");
    o.test_path = dir.Write("t4.csv", "1,2,3,0\n");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("t4.csv"));
  }
  SECTION("a partition cannot be combined with a test file") {
    o.test_path = dir.Write("test.csv", "a,b,y\n1,2,0\n");
    o.partition.weights = {1, 1};
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("partition"));
  }
  SECTION("a missing test file is NotFound and named") {
    o.test_path = dir.File("no_such_test.csv");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("no_such_test.csv"));
  }
  SECTION("a bad value in the test file names the test file and its line") {
    o.test_path = dir.Write("bad_test.csv", "a,b,y\n1,2,0\n1,oops,1\n");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("bad_test.csv") && Contains("line 3") && Contains("oops"));
  }
  SECTION("a test file whose labels are all missing") {
    o.test_path = dir.Write("nolabel.csv", "a,b,y\n1,2,?\n");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("nolabel.csv"));
  }
  SECTION("an empty test file") {
    o.test_path = dir.Write("empty.csv", "a,b,y\n");
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("empty.csv"));
  }
}

// ---- LoadCsv with explicit classes -------------------------------------------------------

TEST_CASE("csv sites: explicit classes fix num_classes and class ids", "[data][csv_sites]") {
  TempDir dir;
  CsvOptions o;
  o.label_column = "y";
  o.test_fraction = 0.0;
  o.standardize = false;

  SECTION("a file lacking a class still has all classes") {
    o.path = dir.Write("a.csv", "x,y\n1,3\n2,1\n3,3.0\n4,+1\n");
    o.classes = {"0", "1", "2", "3"};
    CsvReport report;
    auto s = LoadCsv(o, &report);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 4);
    CHECK(s->test.num_classes == 4);
    CHECK(s->train.labels == std::vector<int64_t>{3, 1, 3, 1});
    CHECK(report.class_names == o.classes);
    // Without the list, the same file has 2 classes with other ids.
    o.classes.clear();
    auto derived = LoadCsv(o);
    REQUIRE(derived.ok());
    CHECK(derived->train.num_classes == 2);
    CHECK(derived->train.labels == std::vector<int64_t>{1, 0, 1, 0});
  }
  SECTION("\"2.0\" in the list matches \"2\" in the file and the list order is the class order") {
    o.path = dir.Write("b.csv", "x,y\n1,2\n2,0\n3,2\n");
    o.classes = {"2.0", "1", "0"};
    auto s = LoadCsv(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
    CHECK(s->train.labels == std::vector<int64_t>{0, 2, 0});
  }
  SECTION("string classes") {
    o.path = dir.Write("c.csv", "x,y\n1,malignant\n2,benign\n");
    o.classes = {"benign", "malignant", "unknown"};
    auto s = LoadCsv(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
    CHECK(s->train.labels == std::vector<int64_t>{1, 0});
  }
  SECTION("an unlisted label is an error naming the file and line") {
    o.path = dir.Write("d.csv", "x,y\n1,0\n2,1\n\n3,7\n");
    o.classes = {"0", "1"};
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("d.csv") && Contains("line 5") && Contains("'7'"));
  }
  SECTION("an unlisted label in the test file names the test file") {
    o.path = dir.Write("tr.csv", "x,y\n1,0\n2,1\n");
    o.test_path = dir.Write("te.csv", "x,y\n1,0\n2,2.5\n");
    o.classes = {"0", "1"};
    auto s = LoadCsv(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("te.csv") && Contains("line 3") && Contains("2.5"));
  }
  SECTION("with a test file and classes, as fl-prep's sites.json configures a hospital") {
    o.path = dir.Write("tr.csv", "x,y\n1,0\n2,0\n");
    o.test_path = dir.Write("te.csv", "x,y\n5,0\n");
    o.classes = {"0", "1", "2"};
    auto s = LoadCsv(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
    CHECK(s->test.num_classes == 3);
    CHECK(s->train.labels == std::vector<int64_t>{0, 0});
    CHECK(s->test.labels == std::vector<int64_t>{0});
  }
}

// ---- Helpers -----------------------------------------------------------------------------

TEST_CASE("csv sites: ResolveCsvColumn", "[data][csv_sites]") {
  const std::vector<std::string> header = {"age", "1", "sex", "target"};
  CHECK(*ResolveCsvColumn("age", header, true, 4, "ctx") == 0);
  CHECK(*ResolveCsvColumn("target", header, true, 4, "ctx") == 3);
  CHECK(*ResolveCsvColumn("1", header, true, 4, "ctx") == 1);  // a header name wins over the index
  CHECK(*ResolveCsvColumn("2", header, true, 4, "ctx") == 2);
  CHECK(*ResolveCsvColumn("-1", header, true, 4, "ctx") == 3);
  CHECK(*ResolveCsvColumn("-4", header, true, 4, "ctx") == 0);
  CHECK(*ResolveCsvColumn("+2", {}, false, 4, "ctx") == 2);
  CHECK(*ResolveCsvColumn("0", {}, false, 4, "ctx") == 0);
  CHECK(*ResolveCsvColumn("-1", {}, false, 14, "ctx") == 13);
  // Without a header, a name that matches nothing is not looked up.
  CHECK(*ResolveCsvColumn("1", {"x", "y"}, false, 2, "ctx") == 1);

  auto out_of_range = ResolveCsvColumn("4", header, true, 4, "my file");
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(out_of_range.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(out_of_range.status().message(), Contains("my file") && Contains("out of range") && Contains("0..3"));
  CHECK(ResolveCsvColumn("-5", header, true, 4, "ctx").status().code() == StatusCode::kInvalidArgument);
  CHECK(ResolveCsvColumn("99999999999999999999", {}, false, 4, "ctx").status().code() ==
        StatusCode::kInvalidArgument);

  auto name_without_header = ResolveCsvColumn("age", {}, false, 4, "my file");
  REQUIRE_FALSE(name_without_header.ok());
  CHECK(name_without_header.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(name_without_header.status().message(), Contains("my file") && Contains("header"));

  auto unknown = ResolveCsvColumn("weight", header, true, 4, "my file");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == StatusCode::kNotFound);
  CHECK_THAT(unknown.status().message(), Contains("my file") && Contains("'weight'") && Contains("'target'"));
}

TEST_CASE("csv sites: SameCsvLabel", "[data][csv_sites]") {
  CHECK(SameCsvLabel("2", "2"));
  CHECK(SameCsvLabel("2", "2.0"));
  CHECK(SameCsvLabel("2.0", "2"));
  CHECK(SameCsvLabel("+2", "2"));
  CHECK(SameCsvLabel("-1", "-1.00"));
  CHECK(SameCsvLabel("1e1", "10"));
  CHECK(SameCsvLabel("abc", "abc"));
  CHECK_FALSE(SameCsvLabel("2", "3"));
  CHECK_FALSE(SameCsvLabel("2", "2.5"));
  CHECK_FALSE(SameCsvLabel("2.5", "2.50"));  // not integers, and not the same string
  CHECK_FALSE(SameCsvLabel("abc", "ABC"));
  CHECK_FALSE(SameCsvLabel("2", "two"));
  CHECK_FALSE(SameCsvLabel("", "0"));
}

TEST_CASE("csv sites: FindCsvClass prefers the same string, else the first same integer", "[data][csv_sites]") {
  const std::vector<std::string> classes = {"2.0", "1", "2", "x"};
  CHECK(FindCsvClass(classes, "2") == 2);     // the same string
  CHECK(FindCsvClass(classes, "2.0") == 0);
  CHECK(FindCsvClass(classes, "+2") == 0);    // the first class with value 2
  CHECK(FindCsvClass(classes, "1.00") == 1);
  CHECK(FindCsvClass(classes, "x") == 3);
  CHECK(FindCsvClass(classes, "3") == -1);
  CHECK(FindCsvClass(classes, "X") == -1);
  CHECK(FindCsvClass({}, "0") == -1);
}

TEST_CASE("csv sites: MapCsvLabels", "[data][csv_sites]") {
  std::vector<int64_t> y = {99};
  std::vector<std::string> names = {"stale"};
  MapCsvLabels({"10", "2", "2.0", "-1", "10"}, &y, &names);
  CHECK(names == std::vector<std::string>{"-1", "2", "10"});  // by value, not as strings
  CHECK(y == std::vector<int64_t>{2, 1, 1, 0, 2});

  MapCsvLabels({"b", "a", "b", "c"}, &y, &names);
  CHECK(names == std::vector<std::string>{"a", "b", "c"});
  CHECK(y == std::vector<int64_t>{1, 0, 1, 2});

  MapCsvLabels({"1", "a", "10", "2"}, &y, &names);  // not all integers: strings, sorted as strings
  CHECK(names == std::vector<std::string>{"1", "10", "2", "a"});
  CHECK(y == std::vector<int64_t>{0, 3, 1, 2});

  MapCsvLabels({}, &y, &names);
  CHECK(y.empty());
  CHECK(names.empty());
}

TEST_CASE("csv sites: MapCsvLabels agrees with LoadCsv's classes", "[data][csv_sites]") {
  TempDir dir;
  CsvOptions o;
  o.path = dir.Write("m.csv", "x,y\n1,4\n2,0\n3,4.0\n4,12\n5,0\n");
  o.label_column = "y";
  o.test_fraction = 0.0;
  CsvReport report;
  auto s = LoadCsv(o, &report);
  REQUIRE(s.ok());
  std::vector<int64_t> y;
  std::vector<std::string> names;
  MapCsvLabels({"4", "0", "4.0", "12", "0"}, &y, &names);
  CHECK(s->train.labels == y);
  CHECK(report.class_names == names);
}

// ---- LoadNpz num_classes -----------------------------------------------------------------

TEST_CASE("csv sites: LoadNpz num_classes", "[data][csv_sites][npz]") {
  TempDir dir;
  const std::string path = dir.File("n.npz");
  fl::data::NpyArray tr_img{"|u1", {3, 2, 2}, std::vector<uint8_t>(12, 5)};
  fl::data::NpyArray tr_lab{"|u1", {3}, {0, 1, 1}};
  fl::data::NpyArray te_img{"|u1", {2, 2, 2}, std::vector<uint8_t>(8, 9)};
  fl::data::NpyArray te_lab{"|u1", {2, 1}, {2, 0}};
  REQUIRE(fl::data::WriteNpz(path, {{"train_images", tr_img},
                                    {"train_labels", tr_lab},
                                    {"test_images", te_img},
                                    {"test_labels", te_lab}})
              .ok());
  fl::data::NpzOptions o;
  o.path = path;

  SECTION("0 = max label + 1 over train and test") {
    auto s = fl::data::LoadNpz(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
  }
  SECTION("larger than max label + 1") {
    o.num_classes = 7;
    auto s = fl::data::LoadNpz(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 7);
    CHECK(s->test.num_classes == 7);
    CHECK(s->train.labels == std::vector<int64_t>{0, 1, 1});
    CHECK(s->test.labels == std::vector<int64_t>{2, 0});
  }
  SECTION("exactly max label + 1") {
    o.num_classes = 3;
    REQUIRE(fl::data::LoadNpz(o).ok());
  }
  SECTION("smaller than a label (of the test split) is an error") {
    o.num_classes = 2;
    auto s = fl::data::LoadNpz(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("n.npz") && Contains("label 2") && Contains("num_classes 2"));
  }
  SECTION("negative") {
    o.num_classes = -1;
    CHECK(fl::data::LoadNpz(o).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("with a partition, every site gets the configured num_classes") {
    o.num_classes = 4;
    o.partition.weights = {1, 1};
    for (size_t i = 0; i < 2; ++i) {
      o.partition.index = i;
      auto s = fl::data::LoadNpz(o);
      REQUIRE(s.ok());
      CHECK(s->train.num_classes == 4);
    }
  }
}
