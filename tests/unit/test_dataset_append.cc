// data::AppendDataset: the union of hospitals' datasets (a pooled baseline).
#include <catch2/catch.hpp>

#include "data/dataset.h"

using fl::data::AppendDataset;
using fl::data::Dataset;

namespace {

Dataset Table(std::vector<float> features, std::vector<int64_t> labels, int64_t classes,
              std::vector<std::string> ids) {
  Dataset d;
  d.sample_shape = {2};
  d.features = std::move(features);
  d.labels = std::move(labels);
  d.num_classes = classes;
  d.ids = std::move(ids);
  return d;
}

}  // namespace

TEST_CASE("dataset append: samples, labels and ids follow each other; classes are the larger count") {
  Dataset all;
  REQUIRE(AppendDataset(Table({1, 2, 3, 4}, {0, 1}, 2, {"a.csv:2", "a.csv:3"}), &all).ok());
  REQUIRE(AppendDataset(Table({5, 6}, {2}, 3, {"b.csv:2"}), &all).ok());
  CHECK(all.size() == 3);
  CHECK(all.features == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(all.labels == std::vector<int64_t>{0, 1, 2});
  CHECK(all.num_classes == 3);
  CHECK(all.ids == std::vector<std::string>{"a.csv:2", "a.csv:3", "b.csv:2"});
  CHECK(all.cases.empty());
}

TEST_CASE("dataset append: an empty part joins, a part without ids drops them all") {
  Dataset all;
  REQUIRE(AppendDataset(Table({1, 2}, {0}, 2, {"a.csv:2"}), &all).ok());
  REQUIRE(AppendDataset(Table({}, {}, 2, {}), &all).ok());
  CHECK(all.ids.size() == 1);
  REQUIRE(AppendDataset(Table({3, 4}, {1}, 2, {}), &all).ok());
  CHECK(all.size() == 2);
  CHECK(all.ids.empty());
}

TEST_CASE("dataset append: cases of the second part follow the first's") {
  Dataset a = Table({1, 2, 3, 4}, {0, 0}, 2, {});
  a.cases = {0, 0};  // one volume of two slices
  Dataset b = Table({5, 6, 7, 8}, {1, 1}, 2, {});
  b.cases = {0, 1};
  Dataset all;
  REQUIRE(AppendDataset(a, &all).ok());
  REQUIRE(AppendDataset(b, &all).ok());
  CHECK(all.cases == std::vector<int32_t>{0, 0, 1, 2});
  // A part without case numbers counts each sample as its own case.
  REQUIRE(AppendDataset(Table({9, 9}, {0}, 2, {}), &all).ok());
  CHECK(all.cases == std::vector<int32_t>{0, 0, 1, 2, 3});
}

TEST_CASE("dataset append: samples of another shape are refused") {
  Dataset all;
  REQUIRE(AppendDataset(Table({1, 2}, {0}, 2, {}), &all).ok());
  Dataset other = Table({1, 2, 3}, {0}, 2, {});
  other.sample_shape = {3};
  auto s = AppendDataset(other, &all);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("shape (3) cannot join samples of shape (2)"));
  CHECK(all.size() == 1);
}
