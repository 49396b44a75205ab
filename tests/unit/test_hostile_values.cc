// Values from a peer, a file or a careless config that mean nothing are refused with a
// clear error (hostile-input issue): JSON nested beyond the bound, endpoints with
// impossible ports, names outside the name rule, labels that cannot be classes, and
// checkpoints whose tensors are renamed or hold NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "data/csv_loader.h"
#include "fl/config_reader.h"
#include "fl/endpoint.h"
#include "fl/names.h"
#include "fl/safetensors.h"

using Catch::Matchers::Contains;
using fl::StatusCode;

TEST_CASE("hostile values: JSON is refused beyond 64 levels, before it is parsed", "[hostile]") {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(fl::ParseJsonText(nested(64), "x").ok());
  auto deep = fl::ParseJsonText(nested(65), "config.json");
  CHECK(deep.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(deep.status().message(), Contains("config.json") && Contains("nested deeper than 64"));
  CHECK_FALSE(fl::ParseJsonText(nested(100000), "x").ok());
  // Brackets inside strings and comments are not nesting.
  CHECK(fl::ParseJsonText("{\"a\": \"" + std::string(500, '[') + "\\\"[\"} // " + std::string(100, '{'), "x").ok());
  CHECK(fl::ParseJsonText("/* " + std::string(100, '[') + " */ [1]", "x").ok());
}

TEST_CASE("hostile values: endpoints name a real port", "[hostile]") {
  CHECK(fl::CheckEndpoint("tcp://127.0.0.1:7000", false).ok());
  CHECK(fl::CheckEndpoint("tcp://coordinator.example.org:65535", false).ok());
  CHECK(fl::CheckEndpoint("tcp://0.0.0.0:0", true).ok());
  CHECK(fl::CheckEndpoint("tcp://*:7000", true).ok());
  CHECK(fl::CheckEndpoint("ipc:///tmp/fl.sock", false).ok());
  for (const char* bad : {"tcp://127.0.0.1:99999", "tcp://127.0.0.1:", "tcp://127.0.0.1", "tcp://:7000",
                          "udp://127.0.0.1:7000", "127.0.0.1:7000", "tcp://127.0.0.1:70x0", "ipc://"}) {
    INFO(bad);
    CHECK(fl::CheckEndpoint(bad, true).code() == StatusCode::kInvalidArgument);
  }
  CHECK_THAT(fl::CheckEndpoint("tcp://127.0.0.1:99999", true).message(), Contains("port"));
  CHECK_FALSE(fl::CheckEndpoint("tcp://127.0.0.1:0", false).ok());  // a worker needs a real port
  CHECK_FALSE(fl::CheckEndpoint("tcp://*:7000", false).ok());
}

TEST_CASE("hostile values: one name rule for hospitals and metrics", "[hostile]") {
  CHECK(fl::IsValidName("hospital-a"));
  CHECK(fl::IsValidName("St.Elsewhere_2"));
  CHECK(fl::IsValidName(std::string(64, 'a')));
  CHECK_FALSE(fl::IsValidName(std::string(65, 'a')));
  CHECK_FALSE(fl::IsValidName(""));
  CHECK_FALSE(fl::IsValidName("bad name!"));
  CHECK_FALSE(fl::IsValidName("a/b"));
  CHECK_THAT(fl::CheckName("bad name!", "--name").message(), Contains("--name must be 1-64 characters"));
}

TEST_CASE("hostile values: labels that cannot be classes", "[hostile]") {
  CHECK(fl::data::CheckCsvLabels({"0", "1", "2", "1.0"}, "t").ok());
  CHECK(fl::data::CheckCsvLabels({"M", "B", "B"}, "t").ok());
  for (const char* bad : {"0.5", "-1", "2000000000", "1e9", "nan", "inf"}) {
    INFO(bad);
    auto s = fl::data::CheckCsvLabels({"0", "1", bad}, "table.csv");
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains("table.csv") && Contains("is not a class") && Contains("row 3"));
  }
  std::vector<std::string> many;
  for (int i = 0; i < 1001; ++i) many.push_back("c" + std::to_string(i));
  CHECK_THAT(fl::data::CheckCsvLabels(many, "t").message(), Contains("1001 distinct labels"));
}

TEST_CASE("hostile values: a checkpoint must be the model, finite", "[hostile]") {
  fl::Checkpoint c;
  c.layout.tensors = {{"fc.weight", {2, 2}}, {"fc.bias", {2}}};
  c.values = {1, 2, 3, 4, 5, 6};
  CHECK(fl::CheckFinite(c, "m").ok());
  CHECK(fl::CheckSameLayout(c.layout, c.layout, "m").ok());
  c.values[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THAT(fl::CheckFinite(c, "m.safetensors").message(), Contains("m.safetensors") && Contains("fc.bias"));
  c.values[4] = std::numeric_limits<float>::infinity();
  CHECK(fl::CheckFinite(c, "m").code() == StatusCode::kDataLoss);

  fl::ModelLayout renamed = c.layout;
  renamed.tensors[0].name = "fc.weight2";
  CHECK_THAT(fl::CheckSameLayout(c.layout, renamed, "m").message(), Contains("fc.weight2") && Contains("fc.weight"));
  fl::ModelLayout reshaped = c.layout;
  reshaped.tensors[0].shape = {4, 1};
  CHECK_THAT(fl::CheckSameLayout(c.layout, reshaped, "m").message(), Contains("[4, 1]") && Contains("[2, 2]"));
  fl::ModelLayout shorter = c.layout;
  shorter.tensors.pop_back();
  CHECK_THAT(fl::CheckSameLayout(c.layout, shorter, "m").message(), Contains("1 tensors, the model has 2"));
}
