// Tests for NIfTI data as whole volumes (nifti mode "volumes", for a 3-D U-Net): each
// cropped/padded volume is one sample {1, D, H, W}, the same voxels the slice mode gives,
// one label per volume, and predicted volume masks restore onto the input grid.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <array>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "data/nifti.h"
#include "data/segmentation_data.h"
#include "data/volume.h"

using fl::StatusCode;
using fl::data::NiftiDtype;
using fl::data::NiftiOptions;
using fl::data::Volume;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_volsamples_test_") {}
};

using Dims = std::array<int64_t, 3>;

// Image intensity x + 20y + 400z + 1000c; label: a box [lo, hi], or nothing when lo > hi.
void WriteCase(const TempDir& t, int c, Dims dims, Dims lo, Dims hi) {
  Volume image, label;
  image.dims = label.dims = dims;
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) {
        image.data.push_back(static_cast<float>(1000 * c + x + 20 * y + 400 * z));
        const bool in = x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1] && z >= lo[2] && z <= hi[2];
        label.data.push_back(in ? 1.0f : 0.0f);
      }
  const std::string id = t.File("c" + std::to_string(c));
  REQUIRE(fl::data::WriteNifti(id + "_image.nii.gz", image, NiftiDtype::kFloat32).ok());
  REQUIRE(fl::data::WriteNifti(id + "_label.nii.gz", label, NiftiDtype::kUint8).ok());
}

}  // namespace

TEST_CASE("volumes: whole volumes as samples hold the voxels of their slices", "[data][volumes3d]") {
  TempDir t;
  WriteCase(t, 0, {12, 10, 6}, {3, 2, 1}, {8, 6, 4});
  WriteCase(t, 1, {9, 11, 8}, {2, 3, 2}, {6, 7, 5});
  WriteCase(t, 2, {10, 7, 5}, {9, 9, 9}, {0, 0, 0});  // no foreground
  NiftiOptions o;
  o.dir = t.path();
  o.train_list = t.Write("train.list", "c0\nc1\n");
  o.test_list = t.Write("test.list", "c2\n");
  o.crop = {10, 8, 6};
  auto slices = fl::data::LoadNiftiSplit(o);
  REQUIRE(slices.ok());
  o.volumes = true;
  auto volumes = fl::data::LoadNiftiSplit(o);
  REQUIRE(volumes.ok());
  const auto& train = volumes->train;
  CHECK(train.sample_shape == std::vector<int64_t>{1, 6, 8, 10});
  CHECK(train.mask_shape == std::vector<int64_t>{6, 8, 10});
  CHECK(train.size() == 2);
  CHECK(volumes->test.size() == 1);
  CHECK(train.features == slices->train.features);
  CHECK(train.masks == slices->train.masks);
  CHECK(volumes->test.features == slices->test.features);
  CHECK(train.labels == std::vector<int64_t>{1, 1});
  CHECK(volumes->test.labels == std::vector<int64_t>{0});
  CHECK(train.cases.empty());  // every volume is its own case
  CHECK(train.num_classes == 2);

  // A predicted volume mask maps back onto the input volume's grid: the test split's own
  // mask restores to the label as written.
  o.train_list.clear();
  o.test_list = t.Write("one.list", "c1\n");
  auto one = fl::data::LoadNiftiSplit(o);
  REQUIRE(one.ok());
  REQUIRE(one->test.size() == 1);
  auto p = fl::data::PrepareVolume(o, t.File("c1_image.nii.gz"));
  REQUIRE(p.ok());
  CHECK(one->test.features == p->prepared.data);
  auto mask = fl::data::SlicesToVolume(p->prepared, one->test.masks, 2);
  REQUIRE(mask.ok());
  auto restored = fl::data::RestoreMask(o, *p, *mask);
  REQUIRE(restored.ok());
  auto image = fl::data::ReadNifti(t.File("c1_image.nii.gz"));
  REQUIRE(image.ok());
  auto label = fl::data::ReadNiftiLabel(t.File("c1_label.nii.gz"), *image);
  REQUIRE(label.ok());
  REQUIRE(restored->dims == label->dims);
  // The crop {10, 8, 6} cuts c1 (9x11x8) in y and z: inside the kept box the restored mask
  // is the label; outside, background.
  int64_t differ = 0, kept_fg = 0;
  for (size_t i = 0; i < label->data.size(); ++i) {
    if (restored->data[i] != label->data[i]) ++differ;
    kept_fg += restored->data[i] > 0;
  }
  CHECK(kept_fg > 0);
  CHECK(differ == 0);  // the box (y 3..7, z 2..5) lies inside the kept y 1..8, z 1..6
}

TEST_CASE("volumes: errors", "[data][volumes3d]") {
  TempDir t;
  WriteCase(t, 0, {12, 10, 6}, {3, 2, 1}, {8, 6, 4});
  WriteCase(t, 1, {9, 11, 8}, {2, 3, 2}, {6, 7, 5});
  NiftiOptions o;
  o.dir = t.path();
  o.train_list = t.Write("train.list", "c0\nc1\n");
  o.volumes = true;
  // Volumes of different depth cannot be batched: the error points at nifti.crop.
  o.crop = {10, 8};
  auto uneven = fl::data::LoadNiftiSplit(o);
  REQUIRE_FALSE(uneven.ok());
  CHECK_THAT(uneven.status().message(), Contains("crop"));
  o.crop = {10, 8, 6};
  o.slice_stride = 2;
  auto stride = fl::data::LoadNiftiSplit(o);
  REQUIRE_FALSE(stride.ok());
  CHECK(stride.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(stride.status().message(), Contains("slice_stride"));

  // StackSlices needs whole volumes of 2-D slices.
  fl::data::Dataset d;
  d.sample_shape = {1, 2, 2};
  d.mask_shape = {2, 2};
  d.features.assign(5 * 4, 0.0f);
  d.masks.assign(5 * 4, 0);
  d.labels.assign(5, 0);
  CHECK_FALSE(fl::data::StackSlices(d, 2).ok());
  auto ok = fl::data::StackSlices(d, 5);
  REQUIRE(ok.ok());
  CHECK(ok->sample_shape == std::vector<int64_t>{1, 5, 2, 2});
  CHECK(ok->size() == 1);
  CHECK_FALSE(fl::data::StackSlices(*ok, 1).ok());  // already volumes
}
