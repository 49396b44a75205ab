// Tests for worker/data's segmentation splits: NIfTI train/test splits with crop/pad,
// id lists, and the PrepareVolume / RestoreMask pair that maps predictions back onto the
// input volume. Volumes are written on the fly; one test reads a real left-atrium volume.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/morphology.h"
#include "data/nifti.h"
#include "data/segmentation_data.h"
#include "data/volume.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::NiftiDtype;
using fl::data::NiftiOptions;
using fl::data::Volume;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_segdata_test_") {}
};

using Dims = std::array<int64_t, 3>;
using Fn = std::function<float(int64_t, int64_t, int64_t)>;

Volume Make(Dims dims, std::array<double, 3> spacing, const Fn& f) {
  Volume v;
  v.dims = dims;
  v.spacing = spacing;
  auto& g = v.geometry;
  g.pixdim = {1, static_cast<float>(spacing[0]), static_cast<float>(spacing[1]), static_cast<float>(spacing[2]),
              1, 1, 1, 1};
  g.qform_code = 1;
  g.sform_code = 1;
  g.qoffset_x = 4.5f, g.qoffset_y = -3.25f, g.qoffset_z = 10.0f;
  g.srow_x = {static_cast<float>(spacing[0]), 0, 0, 4.5f};
  g.srow_y = {0, static_cast<float>(spacing[1]), 0, -3.25f};
  g.srow_z = {0, 0, static_cast<float>(spacing[2]), 10.0f};
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) v.data.push_back(f(x, y, z));
  return v;
}

// Distinct intensities per case and voxel.
float Intensity(int c, int64_t x, int64_t y, int64_t z) {
  return static_cast<float>(1000 * c + x + 20 * y + 400 * z);
}

Fn Box(Dims lo, Dims hi) {
  return [=](int64_t x, int64_t y, int64_t z) {
    return x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1] && z >= lo[2] && z <= hi[2] ? 1.0f : 0.0f;
  };
}

void WriteCase(const std::string& dir, const std::string& id, const Volume& image, const Volume& label) {
  REQUIRE(fl::data::WriteNifti(dir + "/" + id + "_image.nii.gz", image, NiftiDtype::kFloat32).ok());
  REQUIRE(fl::data::WriteNifti(dir + "/" + id + "_label.nii.gz", label, NiftiDtype::kUint8).ok());
}

struct CaseSpec {
  Dims dims;
  Dims lo, hi;  // foreground box
};

// c0: 12x10x6, c1: 9x11x8, c2: 10x7x5, all at 1 mm.
const std::vector<CaseSpec> kCases = {
    {{12, 10, 6}, {3, 2, 1}, {8, 6, 4}},
    {{9, 11, 8}, {2, 3, 2}, {6, 7, 5}},
    {{10, 7, 5}, {1, 1, 0}, {7, 5, 3}},
};

void WriteCases(const std::string& dir) {
  for (int c = 0; c < static_cast<int>(kCases.size()); ++c) {
    const CaseSpec& s = kCases[c];
    WriteCase(dir, "c" + std::to_string(c),
              Make(s.dims, {1, 1, 1}, [c](int64_t x, int64_t y, int64_t z) { return Intensity(c, x, y, z); }),
              Make(s.dims, {1, 1, 1}, Box(s.lo, s.hi)));
  }
}

// Binary mask of a volume's voxels.
std::vector<uint8_t> Binary(const Volume& v) {
  std::vector<uint8_t> out(v.data.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = v.data[i] > 0 ? 1 : 0;
  return out;
}

// The original label -> prepared label -> RestoreMask round trip for one volume: the mask
// handed to RestoreMask is the prepared label exactly as the test split holds it.
struct RoundTrip {
  fl::data::PreparedVolume p;
  Volume restored;
  Volume original_label;
};

RoundTrip DoRoundTrip(NiftiOptions o, const std::string& list, const std::string& id) {
  o.train_list.clear();  // evaluation only: the test split
  o.test_list = list;
  auto split = fl::data::LoadNiftiSplit(o);
  REQUIRE(split.ok());
  auto p = fl::data::PrepareVolume(o, o.dir + "/" + id + o.image_suffix);
  REQUIRE(p.ok());
  REQUIRE(static_cast<int64_t>(split->test.size()) == p->prepared.dims[2]);
  // The model sees at prediction time what it saw in the test split.
  CHECK(split->test.features == p->prepared.data);
  auto mask = fl::data::SlicesToVolume(p->prepared, split->test.masks, o.axis);
  REQUIRE(mask.ok());
  auto restored = fl::data::RestoreMask(o, *p, *mask);
  REQUIRE(restored.ok());
  auto image = fl::data::ReadNifti(o.dir + "/" + id + o.image_suffix);
  REQUIRE(image.ok());
  auto label = fl::data::ReadNiftiLabel(o.dir + "/" + id + o.label_suffix, *image);
  REQUIRE(label.ok());
  return {std::move(p).value(), std::move(restored).value(), std::move(label).value()};
}

}  // namespace

TEST_CASE("segdata: id lists", "[data][segdata]") {
  TempDir t;
  SECTION("comments, blank lines, whitespace and CRLF") {
    const std::string path = t.Write("a.list", "# cases of centre A\n\nabc\n  def  \r\nghi # a note\n\t\n#x\n");
    auto ids = fl::data::ReadIdList(path);
    REQUIRE(ids.ok());
    CHECK(*ids == std::vector<std::string>{"abc", "def", "ghi"});
  }
  SECTION("no trailing newline") {
    auto ids = fl::data::ReadIdList(t.Write("b.list", "x1\nx2"));
    REQUIRE(ids.ok());
    CHECK(*ids == std::vector<std::string>{"x1", "x2"});
  }
  SECTION("path-like ids are rejected") {
    for (const std::string bad : {"../secret", "a/b", "..", "/etc/passwd"}) {
      const std::string path = t.Write("c.list", "ok\n" + bad + "\n");
      auto ids = fl::data::ReadIdList(path);
      REQUIRE_FALSE(ids.ok());
      CHECK(ids.status().code() == StatusCode::kInvalidArgument);
      CHECK_THAT(ids.status().message(), Contains(path) && Contains("'" + bad + "' is not a plain name"));
    }
  }
  SECTION("empty and missing lists") {
    const std::string path = t.Write("d.list", "# nothing\n\n   \n");
    auto ids = fl::data::ReadIdList(path);
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(ids.status().message(), Contains(path) && Contains("empty"));
    ids = fl::data::ReadIdList(t.File("missing.list"));
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.status().code() == StatusCode::kNotFound);
    CHECK_THAT(ids.status().message(), Contains(t.File("missing.list")));
  }
}

TEST_CASE("segdata: nifti splits of volumes of different sizes, cropped and padded", "[data][segdata]") {
  TempDir t;
  WriteCases(t.path());
  NiftiOptions o;
  o.dir = t.path();
  o.train_list = t.Write("train.list", "c0\nc1\n");
  o.test_list = t.Write("test.list", "c2\n");
  o.crop = {10, 8, 6};  // crops or pads every axis of some volume
  o.slice_stride = 2;
  auto split = fl::data::LoadNiftiSplit(o);
  REQUIRE(split.ok());
  const auto& train = split->train;
  const auto& test = split->test;
  CHECK(train.sample_shape == std::vector<int64_t>{1, 8, 10});
  CHECK(train.mask_shape == std::vector<int64_t>{8, 10});
  CHECK(test.sample_shape == train.sample_shape);
  CHECK(test.mask_shape == train.mask_shape);
  CHECK(train.num_classes == 2);
  // Every volume has 6 slices after cropping; stride 2 keeps 3 of each training volume.
  REQUIRE(train.size() == 6);
  REQUIRE(test.size() == 6);
  CHECK(train.cases == std::vector<int32_t>{0, 0, 0, 1, 1, 1});
  CHECK(test.cases == std::vector<int32_t>(6, 0));

  // Pixel (h, w) of the kept slice k of a volume is voxel (start + (w, h, stride k)) of the
  // source, start = dims / 2 - crop / 2; outside the source: the volume's lowest value (image)
  // and background (mask).
  auto check = [](const fl::data::Dataset& d, int c, size_t first, int64_t stride) {
    const CaseSpec& s = kCases[c];
    const Dims crop{10, 8, 6};
    Dims start{};
    for (int a = 0; a < 3; ++a) start[a] = s.dims[a] / 2 - crop[a] / 2;
    const float lowest = Intensity(c, 0, 0, 0);
    const auto fg = Box(s.lo, s.hi);
    const size_t n = static_cast<size_t>((crop[2] + stride - 1) / stride);
    int64_t mismatches = 0, fg_pixels = 0;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = first + k;
      const int64_t z = start[2] + static_cast<int64_t>(k) * stride;
      bool any = false;
      for (int64_t h = 0; h < 8; ++h)
        for (int64_t w = 0; w < 10; ++w) {
          const int64_t x = start[0] + w, y = start[1] + h;
          const bool inside = x >= 0 && x < s.dims[0] && y >= 0 && y < s.dims[1] && z >= 0 && z < s.dims[2];
          const float want_img = inside ? Intensity(c, x, y, z) : lowest;
          const uint8_t want_mask = inside && fg(x, y, z) > 0 ? 1 : 0;
          const size_t px = static_cast<size_t>(h * 10 + w);
          mismatches += d.features[i * 80 + px] != want_img;
          mismatches += d.masks[i * 80 + px] != want_mask;
          any |= want_mask != 0;
          fg_pixels += want_mask;
        }
      CHECK(d.labels[i] == (any ? 1 : 0));
    }
    CHECK(mismatches == 0);
    CHECK(fg_pixels > 0);
  };
  check(train, 0, 0, 2);
  check(train, 1, 3, 2);
  check(test, 2, 0, 1);
  // c1 (9 wide) is padded on the left, c2 (7 high, 5 deep) above and in front.
  CHECK(train.features[3 * 80 + 0] == Intensity(1, 0, 0, 0));

  SECTION("no test list: an empty test split") {
    o.test_list.clear();
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE(s.ok());
    CHECK(s->train.size() == 6);
    CHECK(s->test.size() == 0);
  }
  SECTION("stride 1 keeps every slice") {
    o.slice_stride = 1;
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE(s.ok());
    CHECK(s->train.size() == 12);
    check(s->train, 1, 6, 1);
  }
  SECTION("crop of x and y only: the depth may differ between training and test volumes") {
    o.crop = {10, 8};
    o.train_list = t.Write("c0.list", "c0\n");  // 6 slices
    o.slice_stride = 1;
    auto s = fl::data::LoadNiftiSplit(o);  // test: c2, 5 slices
    REQUIRE(s.ok());
    CHECK(s->train.size() == 6);
    CHECK(s->test.size() == 5);
    CHECK(s->test.sample_shape == std::vector<int64_t>{1, 8, 10});
  }
}

TEST_CASE("segdata: nifti split errors", "[data][segdata]") {
  TempDir t;
  WriteCases(t.path());
  NiftiOptions o;
  o.dir = t.path();
  o.train_list = t.Write("train.list", "c0\nc1\n");
  o.test_list = t.Write("test.list", "c2\n");
  o.crop = {10, 8, 6};

  SECTION("volumes of different sizes without crop") {
    o.crop.clear();
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains(t.File("c1_image.nii.gz")) && Contains("(9, 11, 8)") &&
                                         Contains("c0_image.nii.gz") && Contains("set nifti.crop"));
  }
  SECTION("test slices of another size than training slices") {
    o.crop.clear();
    o.train_list = t.Write("c0.list", "c0\n");
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("test volumes") && Contains("nifti.crop"));
  }
  SECTION("missing lists") {
    o.train_list = t.File("nope.list");
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains(t.File("nope.list")));
    o.train_list = t.File("train.list");
    o.test_list = t.File("gone.list");
    s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains(t.File("gone.list")));
  }
  SECTION("a list is required") {
    o.train_list.clear();
    o.test_list.clear();
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("train_list or test_list is required"));
  }
  SECTION("a test-only split has an empty training split of the same shape") {
    o.train_list.clear();
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE(s.ok());
    CHECK(s->train.size() == 0);
    CHECK(s->test.size() > 0);
    CHECK(s->train.sample_shape == s->test.sample_shape);
  }
  SECTION("a case in both lists is refused") {
    o.test_list = t.Write("overlap.list", "c1\n");
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("c1") && Contains("both"));
  }
  SECTION("a missing image or label file is named") {
    fs::remove(t.File("c1_label.nii.gz"));
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains(t.File("c1_label.nii.gz")));
    fs::remove(t.File("c2_image.nii.gz"));
    o.train_list = t.File("test.list");
    o.test_list.clear();
    s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains(t.File("c2_image.nii.gz")));
  }
  SECTION("an id listed that has no volume") {
    o.train_list = t.Write("x.list", "c0\nc9\n");
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains(t.File("c9_image.nii.gz")));
  }
  SECTION("a path-like id in a list") {
    o.train_list = t.Write("x.list", "c0\n../c1\n");
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("'../c1' is not a plain name"));
  }
  SECTION("a label of another size than its image") {
    REQUIRE(fl::data::WriteNifti(t.File("c1_label.nii.gz"), Make({9, 11, 7}, {1, 1, 1}, Box({0, 0, 0}, {1, 1, 1})),
                                 NiftiDtype::kUint8)
                .ok());
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("c1_label.nii.gz"));
  }
  SECTION("label values must be below num_classes") {
    REQUIRE(fl::data::WriteNifti(t.File("c1_label.nii.gz"),
                                 Make({9, 11, 8}, {1, 1, 1}, [](int64_t x, int64_t, int64_t) { return x == 4 ? 2.0f : 0.0f; }),
                                 NiftiDtype::kUint8)
                .ok());
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    o.num_classes = 3;
    CHECK(fl::data::LoadNiftiSplit(o).ok());
  }
  SECTION("slice_stride below 1") {
    o.slice_stride = 0;
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("slice_stride"));
  }
  SECTION("spacing needs 3 values") {
    o.spacing = {1.0, 1.0};
    auto s = fl::data::LoadNiftiSplit(o);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("spacing"));
  }
}

TEST_CASE("segdata: a prepared label restores exactly after crop and pad", "[data][segdata]") {
  TempDir t;
  // 13x11x7 at (1.5, 1, 2) mm; the crop cuts x to 10 and pads y to 14; the label lies
  // inside the crop box.
  const Dims dims{13, 11, 7};
  WriteCase(t.path(), "v", Make(dims, {1.5, 1, 2}, [](int64_t x, int64_t y, int64_t z) { return Intensity(3, x, y, z); }),
            Make(dims, {1.5, 1, 2}, Box({3, 2, 1}, {8, 8, 5})));
  const std::string list = t.Write("v.list", "v\n");
  NiftiOptions o;
  o.dir = t.path();
  o.crop = {10, 14, 0};

  SECTION("crop and pad") {
    RoundTrip r = DoRoundTrip(o, list, "v");
    CHECK(r.p.prepared.dims == Dims{10, 14, 7});
    CHECK(r.p.resampled_dims == dims);
    CHECK(r.p.start == Dims{1, -2, 0});
    CHECK(r.p.original.dims == dims);
    // Prepared voxel (x, y, z) is original voxel start + (x, y, z), or the lowest value.
    CHECK(r.p.prepared.data[r.p.prepared.Index(0, 2, 0)] == Intensity(3, 1, 0, 0));
    CHECK(r.p.prepared.data[r.p.prepared.Index(9, 12, 6)] == Intensity(3, 10, 10, 6));
    CHECK(r.p.prepared.data[r.p.prepared.Index(4, 0, 3)] == Intensity(3, 0, 0, 0));
    REQUIRE(r.restored.dims == dims);
    CHECK(r.restored.data == r.original_label.data);
    CHECK(r.restored.spacing == r.p.original.spacing);
    CHECK(r.restored.geometry.qoffset_x == r.p.original.geometry.qoffset_x);
    CHECK(r.restored.geometry.srow_z == r.p.original.geometry.srow_z);
    // The restored mask can be written as the prediction of the input volume.
    CHECK(fl::data::WriteNifti(t.File("v_pred.nii.gz"), r.restored, NiftiDtype::kUint8).ok());
  }
  SECTION("with z-scoring the masks restore the same") {
    o.zscore = true;
    RoundTrip r = DoRoundTrip(o, list, "v");
    CHECK(r.restored.data == r.original_label.data);
    // The statistics come from the volume before padding: without a crop the prepared
    // volume has mean 0.
    o.crop.clear();
    RoundTrip whole = DoRoundTrip(o, list, "v");
    double mean = 0;
    for (float v : whole.p.prepared.data) mean += v;
    CHECK(mean / static_cast<double>(whole.p.prepared.data.size()) == Approx(0).margin(1e-4));
  }
  SECTION("no crop: the identity") {
    o.crop.clear();
    RoundTrip r = DoRoundTrip(o, list, "v");
    CHECK(r.p.prepared.dims == dims);
    CHECK(r.p.start == Dims{0, 0, 0});
    CHECK(r.restored.data == r.original_label.data);
  }
  SECTION("a mask outside the original grid is dropped") {
    auto p = fl::data::PrepareVolume(o, t.File("v_image.nii.gz"));
    REQUIRE(p.ok());
    Volume all = p->prepared;
    std::fill(all.data.begin(), all.data.end(), 1.0f);
    auto restored = fl::data::RestoreMask(o, *p, all);
    REQUIRE(restored.ok());
    REQUIRE(restored->dims == dims);
    // Columns x = 0 and x = 11, 12 were cropped away: nothing was predicted there.
    int64_t ones = 0;
    for (int64_t z = 0; z < dims[2]; ++z)
      for (int64_t y = 0; y < dims[1]; ++y)
        for (int64_t x = 0; x < dims[0]; ++x) {
          const float v = restored->data[restored->Index(x, y, z)];
          CHECK(v == ((x >= 1 && x <= 10) ? 1.0f : 0.0f));
          ones += v > 0;
        }
    CHECK(ones == 10 * 11 * 7);
  }
  SECTION("a missing image is named") {
    auto p = fl::data::PrepareVolume(o, t.File("w_image.nii.gz"));
    REQUIRE_FALSE(p.ok());
    CHECK_THAT(p.status().message(), Contains(t.File("w_image.nii.gz")));
  }
}

TEST_CASE("segdata: resampled masks restore onto the original grid", "[data][segdata]") {
  TempDir t;
  SECTION("an ellipsoid through anisotropic resampling, crop and pad") {
    // 22x17x9 at (0.6, 0.9, 2.2) mm resampled to 1 mm: 13x15x20 (neither ratio an integer),
    // then cropped/padded to 12x18x20.
    const Dims dims{22, 17, 9};
    const std::array<double, 3> sp{0.6, 0.9, 2.2};
    auto ellipsoid = [&](int64_t x, int64_t y, int64_t z) {
      const double dx = (x * sp[0] - 6.3) / 4.5, dy = (y * sp[1] - 7.2) / 5.0, dz = (z * sp[2] - 8.8) / 6.5;
      return dx * dx + dy * dy + dz * dz <= 1.0 ? 1.0f : 0.0f;
    };
    WriteCase(t.path(), "e", Make(dims, sp, [](int64_t x, int64_t y, int64_t z) { return Intensity(4, x, y, z); }),
              Make(dims, sp, ellipsoid));
    NiftiOptions o;
    o.dir = t.path();
    o.spacing = {1.0, 1.0, 1.0};
    o.crop = {12, 18, 0};
    RoundTrip r = DoRoundTrip(o, t.Write("e.list", "e\n"), "e");
    CHECK(r.p.resampled_dims == Dims{13, 15, 20});
    CHECK(r.p.prepared.dims == Dims{12, 18, 20});
    CHECK(r.p.prepared.spacing == std::array<double, 3>{1, 1, 1});
    REQUIRE(r.restored.dims == dims);
    CHECK(r.restored.spacing == sp);
    const auto a = Binary(r.original_label), b = Binary(r.restored);
    const double dice = fl::data::DiceCoefficient(a, b);
    INFO("dice " << dice);
    CHECK(dice > 0.9);
  }
  SECTION("a 2x downsampling that loses nothing restores exactly, aligned") {
    // x at 0.5 mm, 11 voxels -> 6 voxels at 1 mm (voxel i samples old voxel 2i + 1, the
    // last one clamped to 10) -> back to 0.5 mm: 12 voxels, voxel j takes 1 mm voxel
    // j / 2, and sits exactly where old voxel j sits. A label constant on the pairs
    // {2k, 2k + 1} therefore survives, provided the 12th voxel is dropped at the end.
    const Dims dims{11, 6, 4};
    const std::array<double, 3> sp{0.5, 1, 1};
    WriteCase(t.path(), "h", Make(dims, sp, [](int64_t x, int64_t y, int64_t z) { return Intensity(5, x, y, z); }),
              Make(dims, sp, Box({2, 1, 1}, {7, 4, 2})));
    NiftiOptions o;
    o.dir = t.path();
    o.spacing = {1.0, 1.0, 1.0};
    RoundTrip r = DoRoundTrip(o, t.Write("h.list", "h\n"), "h");
    CHECK(r.p.resampled_dims == Dims{6, 6, 4});
    REQUIRE(r.restored.dims == dims);
    std::string got, want;
    for (int64_t x = 0; x < dims[0]; ++x) {
      got += r.restored.data[r.restored.Index(x, 2, 1)] > 0 ? '1' : '0';
      want += r.original_label.data[r.original_label.Index(x, 2, 1)] > 0 ? '1' : '0';
    }
    CHECK(got == want);  // one row along x
    CHECK(r.restored.data == r.original_label.data);
  }
}

TEST_CASE("segdata: real left-atrium volume", "[data][segdata]") {
  const std::string dir = std::string(FL_SHARED_DATA_DIR) + "/left_atrium";
  if (!fs::exists(dir + "/test.list") || !fs::is_directory(dir + "/volumes")) {
    WARN("skipped: missing " << dir);
    return;
  }
  auto ids = fl::data::ReadIdList(dir + "/test.list");
  REQUIRE(ids.ok());
  REQUIRE(ids->size() == 20);
  const std::string id = ids->front();
  TempDir t;
  const std::string list = t.Write("one.list", id + "\n");
  NiftiOptions o;
  o.dir = dir + "/volumes";
  o.crop = {96, 80};

  SECTION("slices and exact restoration with crop/pad") {
    RoundTrip r = DoRoundTrip(o, list, id);
    const Dims d = r.p.original.dims;
    INFO(id << " " << fl::data::DimsString(d));
    CHECK(r.p.prepared.dims == Dims{96, 80, d[2]});
    REQUIRE(r.restored.dims == d);
    const auto a = Binary(r.original_label), b = Binary(r.restored);
    int64_t fg = 0;
    for (uint8_t v : a) fg += v;
    CHECK(fg > 1000);
    CHECK(fl::data::DiceCoefficient(a, b) > 0.99);
    // The atrium lies well inside a 96x80 box about the centre: nothing is cropped away.
    CHECK(a == b);

    o.train_list = list;
    o.test_list.clear();
    o.slice_stride = 8;
    auto train = fl::data::LoadNiftiSplit(o);
    REQUIRE(train.ok());
    CHECK(train->train.sample_shape == std::vector<int64_t>{1, 80, 96});
    CHECK(train->train.size() == static_cast<size_t>((d[2] + 7) / 8));
    o.train_list.clear();
    o.test_list = list;
    auto split = fl::data::LoadNiftiSplit(o);
    REQUIRE(split.ok());
    CHECK(split->test.size() == static_cast<size_t>(d[2]));
    int64_t with_fg = 0;
    for (int64_t l : split->test.labels) with_fg += l;
    CHECK(with_fg > 10);
    CHECK(with_fg < d[2]);
  }
  SECTION("resampled to 1.25 mm isotropic") {
    o.spacing = {1.25, 1.25, 1.25};
    RoundTrip r = DoRoundTrip(o, list, id);
    REQUIRE(r.restored.dims == r.p.original.dims);
    CHECK(r.p.prepared.dims[2] == (r.p.original.dims[2] + 1) / 2);
    const double dice = fl::data::DiceCoefficient(Binary(r.original_label), Binary(r.restored));
    INFO("dice " << dice);
    CHECK(dice > 0.9);
  }
}
