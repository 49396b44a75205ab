// Worker options for hospitals with their own files (fl-prep's sites.json data sections):
// data.csv.test_path, data.csv.classes, data.npz.num_classes, and where data.partition is refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fl/config_reader.h"
#include "fl/crypto.h"
#include "options.h"

using namespace fl;
using namespace fl::worker;

namespace {

StatusOr<WorkerOptions> Parse(const std::string& data_section) {
  return ParseWorkerOptions(nlohmann::json::parse("{\"name\": \"h\", \"data\": " + data_section + "}"), "w.json");
}

void ExpectError(const std::string& data_section, const std::vector<std::string>& needles) {
  auto r = Parse(data_section);
  INFO(data_section);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  INFO(r.status().message());
  CHECK(r.status().message().find("w.json") != std::string::npos);
  for (const std::string& n : needles) CHECK(r.status().message().find(n) != std::string::npos);
}

class Dir {
 public:
  Dir() {
    uint8_t r[8];
    (void)crypto::Init();
    crypto::RandomBytes(r, sizeof r);
    path_ = std::filesystem::temp_directory_path() / ("fl_options_sites_" + crypto::ToHex(r, sizeof r));
    std::filesystem::create_directories(path_);
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("worker options: csv test_path and classes", "[config][csv_sites]") {
  auto o = Parse(R"({"format": "csv", "path": "/d/train.csv",
      "csv": {"test_path": "/d/test.csv", "classes": ["0", "1", "2.0"], "label_column": "y"}})");
  REQUIRE(o.ok());
  CHECK(o->data.csv.path == "/d/train.csv");
  CHECK(o->data.csv.test_path == "/d/test.csv");
  CHECK(o->data.csv.classes == std::vector<std::string>{"0", "1", "2.0"});
  CHECK(o->data.csv.partition.weights.empty());

  auto defaults = Parse(R"({"format": "csv", "path": "/d/x.csv", "csv": {"label_column": "-1"}})");
  REQUIRE(defaults.ok());
  CHECK(defaults->data.csv.test_path.empty());
  CHECK(defaults->data.csv.classes.empty());

  ExpectError(R"({"format": "csv", "path": "/d/x.csv", "csv": {"label_column": "y", "test_path": 3}})",
              {"data.csv.test_path"});
  ExpectError(R"({"format": "csv", "path": "/d/x.csv", "csv": {"label_column": "y", "classes": "0,1"}})",
              {"data.csv.classes"});
}

TEST_CASE("worker options: npz num_classes", "[config][csv_sites]") {
  auto o = Parse(R"({"format": "npz", "path": "/d/site.npz", "npz": {"num_classes": 9}})");
  REQUIRE(o.ok());
  CHECK(o->data.npz.num_classes == 9);
  CHECK(o->data.npz.path == "/d/site.npz");
  auto d = Parse(R"({"format": "npz", "path": "/d/site.npz"})");
  REQUIRE(d.ok());
  CHECK(d->data.npz.num_classes == 0);
  ExpectError(R"({"format": "npz", "path": "/d/s.npz", "npz": {"num_classes": -1}})", {"data.npz.num_classes"});
  ExpectError(R"({"format": "npz", "path": "/d/s.npz", "npz": {"num_classes": 2000000}})", {"data.npz.num_classes"});
  ExpectError(R"({"format": "npz", "path": "/d/s.npz", "npz": {"num_classes": 2.5}})", {"data.npz.num_classes"});
  // Partitioning an npz file with num_classes set is allowed.
  auto p = Parse(R"({"format": "npz", "path": "/d/s.npz", "npz": {"num_classes": 3},
      "partition": {"weights": [1, 1], "index": 1, "seed": 4, "dirichlet_alpha": 0.5}})");
  REQUIRE(p.ok());
  CHECK(p->data.npz.partition.weights.size() == 2);
  CHECK(p->data.npz.partition.index == 1);
  CHECK(p->data.npz.num_classes == 3);
}

TEST_CASE("worker options: data.partition is refused where it cannot apply", "[config][csv_sites]") {
  ExpectError(R"({"format": "images", "path": "/d/train", "partition": {"weights": [1, 1], "index": 0}})",
              {"data.partition", "fl-prep"});
  ExpectError(R"({"format": "nifti", "path": "/d/v", "nifti": {"train_list": "t.list"},
      "partition": {"weights": [1, 1], "index": 1}})",
              {"data.partition", "fl-prep"});
  ExpectError(R"({"format": "csv", "path": "/d/train.csv",
      "csv": {"label_column": "y", "test_path": "/d/test.csv"}, "partition": {"weights": [2, 1], "index": 0}})",
              {"data.partition", "test_path"});
  // An empty partition section is no partition, so none of these errors apply.
  CHECK(Parse(R"({"format": "images", "path": "/d/train", "partition": {}})").ok());
  CHECK(Parse(R"({"format": "csv", "path": "/d/train.csv",
      "csv": {"label_column": "y", "test_path": "/d/test.csv"}, "partition": {}})")
            .ok());
  // csv and npz without a test file keep accepting a partition.
  CHECK(Parse(R"({"format": "csv", "path": "/d/x.csv", "csv": {"label_column": "y"},
      "partition": {"weights": [1, 1], "index": 1}})")
            .ok());
}

TEST_CASE("worker options: a hospital's own csv files load with LoadData", "[config][csv_sites]") {
  Dir dir;
  const std::string train = dir.Write("train.csv", "a,b,y\n1,2,0\n3,4,0\n5,6,0\n");
  const std::string test = dir.Write("test.csv", "a,b,y\n7,8,0\n9,10,0.0\n");
  nlohmann::json j = {{"name", "h"},
                      {"data",
                       {{"format", "csv"},
                        {"path", train},
                        {"csv",
                         {{"test_path", test},
                          {"header", true},
                          {"delimiter", ","},
                          {"label_column", "y"},
                          {"missing_values", {"", "?"}},
                          {"classes", {"0", "1", "2"}}}}}}};
  auto o = ParseWorkerOptions(j, "w.json");
  REQUIRE(o.ok());
  auto s = LoadData(o->data);
  REQUIRE(s.ok());
  CHECK(s->train.size() == 3);
  CHECK(s->test.size() == 2);
  CHECK(s->train.num_classes == 3);  // the file only has class 0
  CHECK(s->test.labels == std::vector<int64_t>{0, 0});
}
