// fl-prep spec parsing: defaults, and errors that name the offending field.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "prep/prep.h"

using fl::StatusCode;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

json BaseSpec() {
  return json{{"format", "nifti"},
              {"output", "/tmp/x"},
              {"sources", {{"s", {{"dir", "/tmp/src"}}}}},
              {"sites", {{{"name", "a"}, {"source", "s"}}}}};
}

std::string ParseError(const json& j) {
  auto s = fl::prep::ParseSpec(j, "spec.json");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kInvalidArgument);
  return s.status().message();
}

}  // namespace

TEST_CASE("prep: a valid spec is parsed with its defaults", "[prep]") {
  json j = BaseSpec();
  j["sites"].push_back({{"name", "b.2_x-y"},
                        {"source", "s"},
                        {"cases", 4},
                        {"test_fraction", 0.5},
                        {"test_perturbation", {"Opening", "random_erosion"}},
                        {"min_radius", 2},
                        {"max_radius", 2}});
  auto s = fl::prep::ParseSpec(j, "spec.json");
  REQUIRE(s.ok());
  CHECK(s->format == "nifti");
  CHECK(s->seed == 1);
  CHECK(s->image_suffix == "_image.nii.gz");
  CHECK(s->label_suffix == "_label.nii.gz");
  REQUIRE(s->sources.size() == 1);
  CHECK(s->sources[0].dir == "/tmp/src");
  CHECK(s->sources[0].list.empty());
  REQUIRE(s->sites.size() == 2);
  CHECK(s->sites[0].cases == 0);
  CHECK(s->sites[0].test_cases == -1);
  CHECK(s->sites[0].test_fraction == Approx(0.2));
  CHECK(s->sites[0].min_radius == 1);
  CHECK(s->sites[0].max_radius == 3);
  CHECK(s->sites[1].name == "b.2_x-y");
  CHECK(s->sites[1].cases == 4);
  CHECK(s->sites[1].test_perturbation == std::vector<std::string>{"Opening", "random_erosion"});
}

TEST_CASE("prep: spec errors name the problem", "[prep]") {
  SECTION("unknown top-level key") {
    json j = BaseSpec();
    j["colour"] = "blue";
    CHECK_THAT(ParseError(j), Contains("colour") && Contains("unknown key"));
  }
  SECTION("unknown key in a site") {
    json j = BaseSpec();
    j["sites"][0]["cases_"] = 3;
    CHECK_THAT(ParseError(j), Contains("spec.json") && Contains("sites[0].cases_") && Contains("unknown key"));
  }
  SECTION("unknown key in a source") {
    json j = BaseSpec();
    j["sources"]["s"]["lst"] = "x";
    CHECK_THAT(ParseError(j), Contains("sources.s.lst") && Contains("unknown key"));
  }
  SECTION("bad format") {
    json j = BaseSpec();
    j["format"] = "dicom";
    CHECK_THAT(ParseError(j), Contains("format"));
  }
  SECTION("missing output") {
    json j = BaseSpec();
    j.erase("output");
    CHECK_THAT(ParseError(j), Contains("output") && Contains("required"));
  }
  SECTION("unknown source") {
    json j = BaseSpec();
    j["sites"][0]["source"] = "elsewhere";
    CHECK_THAT(ParseError(j), Contains("sites[0].source 'elsewhere' is not one of the sources"));
  }
  SECTION("unknown perturbation") {
    json j = BaseSpec();
    j["sites"][0]["train_perturbation"] = {"opening", "blur"};
    CHECK_THAT(ParseError(j), Contains("sites[0]") && Contains("unknown perturbation 'blur'"));
    j = BaseSpec();
    j["sites"][0]["test_perturbation"] = {"smudge"};
    CHECK_THAT(ParseError(j), Contains("unknown perturbation 'smudge'"));
  }
  SECTION("duplicate site name") {
    json j = BaseSpec();
    j["sites"].push_back({{"name", "a"}, {"source", "s"}});
    CHECK_THAT(ParseError(j), Contains("sites[1].name 'a' is used twice"));
  }
  SECTION("bad site names") {
    for (const std::string& name : {std::string(""), std::string("a/b"), std::string(".."), std::string("."),
                                    std::string("has space"), std::string(65, 'x')}) {
      json j = BaseSpec();
      j["sites"][0]["name"] = name;
      CHECK_THAT(ParseError(j), Contains("sites[0].name must be 1-64 of [A-Za-z0-9._-]"));
    }
  }
  SECTION("bad source name") {
    json j = BaseSpec();
    j["sources"] = {{"../up", {{"dir", "/tmp/src"}}}};
    j["sites"][0]["source"] = "../up";
    CHECK_THAT(ParseError(j), Contains("source name '../up'"));
  }
  SECTION("max_radius below min_radius") {
    json j = BaseSpec();
    j["sites"][0]["min_radius"] = 3;
    j["sites"][0]["max_radius"] = 2;
    CHECK_THAT(ParseError(j), Contains("sites[0]: max_radius is below min_radius"));
  }
  SECTION("out-of-range numbers") {
    json j = BaseSpec();
    j["sites"][0]["test_fraction"] = 1.5;
    CHECK_THAT(ParseError(j), Contains("sites[0].test_fraction"));
    j = BaseSpec();
    j["sites"][0]["cases"] = -1;
    CHECK_THAT(ParseError(j), Contains("sites[0].cases"));
  }
  SECTION("empty or malformed sources and sites") {
    json j = BaseSpec();
    j["sources"] = json::object();
    CHECK_THAT(ParseError(j), Contains("sources must be a non-empty object"));
    j = BaseSpec();
    j["sites"] = json::array();
    CHECK_THAT(ParseError(j), Contains("sites must be a non-empty array"));
    j = BaseSpec();
    j["sites"] = {{"name", "a"}};  // an object, not an array
    CHECK_THAT(ParseError(j), Contains("sites must be a non-empty array"));
  }
}
