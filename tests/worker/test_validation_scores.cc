// What a merge federation's contributor scores lambda on: the validation split held out of
// its training data (worker/validation_split.h) and the scores themselves
// (worker/merge_scores.h).
#include <catch2/catch.hpp>

#include <set>

#include "merge_scores.h"
#include "validation_split.h"

using fl::data::Dataset;

namespace {
Dataset Table(size_t n, bool with_cases) {
  Dataset d;
  d.sample_shape = {1};
  d.num_classes = 2;
  for (size_t i = 0; i < n; ++i) {
    d.features.push_back(static_cast<float>(i));
    d.labels.push_back(static_cast<int64_t>(i % 2));
    if (with_cases) d.cases.push_back(static_cast<int32_t>(i / 4));  // four slices per volume
  }
  return d;
}
}  // namespace

TEST_CASE("the validation split is a fixed, disjoint share of the training data", "[merge]") {
  Dataset train = Table(200, false);
  auto validation = fl::worker::HoldOutValidation(&train, 0.1);
  REQUIRE(validation.ok());
  CHECK(validation->size() == 20);
  CHECK(train.size() == 180);
  std::set<float> kept(train.features.begin(), train.features.end());
  for (float f : validation->features) CHECK_FALSE(kept.count(f));
  // The same rows every time (finetune and contribute must agree).
  Dataset again = Table(200, false);
  auto second = fl::worker::HoldOutValidation(&again, 0.1);
  REQUIRE(second.ok());
  CHECK(second->features == validation->features);
}

TEST_CASE("a volume's slices stay on one side of the validation split", "[merge]") {
  Dataset train = Table(400, true);
  auto validation = fl::worker::HoldOutValidation(&train, 0.25);
  REQUIRE(validation.ok());
  CHECK(validation->size() == 100);
  std::set<int32_t> held(validation->cases.begin(), validation->cases.end());
  CHECK(held.size() == 25);
  // Subset renumbers nothing: the held-out values are whole volumes (4 consecutive rows).
  for (size_t i = 0; i < validation->size(); i += 4) {
    CHECK(validation->features[i + 3] == validation->features[i] + 3);
  }
}

TEST_CASE("a validation fraction out of range or leaving a part empty is refused", "[merge]") {
  Dataset train = Table(10, false);
  CHECK_FALSE(fl::worker::HoldOutValidation(&train, 0.6).ok());
  CHECK_FALSE(fl::worker::HoldOutValidation(&train, -0.1).ok());
  Dataset one = Table(1, false);
  CHECK_FALSE(fl::worker::HoldOutValidation(&one, 0.5).ok());
  auto none = fl::worker::HoldOutValidation(&train, 0.0);
  REQUIRE(none.ok());
  CHECK(none->size() == 0);
  CHECK(train.size() == 10);
}

TEST_CASE("accuracy and per-case Dice of predictions", "[merge]") {
  Dataset d = Table(4, false);  // labels 0 1 0 1
  CHECK(fl::worker::Accuracy(d, {0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.7f, 0.6f, 0.4f}) == Approx(0.5));
  Dataset seg;
  seg.mask_shape = {1, 4};
  seg.labels = {1, 0, 1};
  seg.masks = {1, 1, 0, 0, /**/ 0, 0, 0, 0, /**/ 1, 0, 0, 0};
  seg.cases = {0, 0, 1};
  // Case 0: truth {0,1} of sample 0, nothing in sample 1; predicted {0} and {0}:
  // overlap 1, |pred| + |truth| = 2 + 2 -> 0.5. Case 1: truth {0}, predicted {0} -> 1.
  CHECK(fl::worker::MeanCaseDice(seg, {1, 0, 0, 0, /**/ 1, 0, 0, 0, /**/ 1, 0, 0, 0}) == Approx(0.75));
  // Both empty counts as a perfect case.
  seg.masks.assign(12, 0);
  CHECK(fl::worker::MeanCaseDice(seg, std::vector<uint8_t>(12, 0)) == Approx(1.0));
}
