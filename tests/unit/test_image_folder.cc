// Tests for worker/data's image-folder segmentation loader. Fixtures are small PNGs written
// with WritePng into a temporary folder; the real-data tests read the polyp datasets from
// the shared data folder when it is present.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "data/image_ops.h"
#include "temp_dir.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::Dataset;
using fl::data::ImageFolderOptions;
using fl::data::ListImages;
using fl::data::LoadImageFolder;
using fl::data::WritePng;
using Catch::Matchers::Contains;

namespace {

// A folder with images/ and masks/ subfolders.
class Folder : public fl::testing::TempDir {
 public:
  Folder() : fl::testing::TempDir("fl_image_folder_test_") {
    fs::create_directories(File("images"));
    fs::create_directories(File("masks"));
  }
  void Image(const std::string& name, int64_t h, int64_t w, int64_t c, const std::vector<uint8_t>& px) {
    REQUIRE(WritePng(File("images/" + name), px.data(), h, w, c).ok());
  }
  void Mask(const std::string& name, int64_t h, int64_t w, const std::vector<uint8_t>& px, int64_t c = 1) {
    REQUIRE(WritePng(File("masks/" + name), px.data(), h, w, c).ok());
  }
  // An RGB image filled with `value` and a mask whose first pixel is `fg` (others 0).
  void Pair(const std::string& name, int64_t h, int64_t w, uint8_t value, uint8_t fg = 255) {
    Image(name, h, w, 3, std::vector<uint8_t>(static_cast<size_t>(h * w * 3), value));
    std::vector<uint8_t> m(static_cast<size_t>(h * w), 0);
    m[0] = fg;
    Mask(name, h, w, m);
  }
  ImageFolderOptions Options() const {
    ImageFolderOptions o;
    o.path = path();
    return o;
  }
};

float At(const Dataset& d, size_t i, int64_t c, int64_t y, int64_t x) {
  const int64_t h = d.sample_shape[1], w = d.sample_shape[2];
  return d.features[i * static_cast<size_t>(d.SampleNumel()) + static_cast<size_t>((c * h + y) * w + x)];
}

}  // namespace

TEST_CASE("image_folder: a known 2x3 image round-trips", "[data][image]") {
  Folder f;
  std::vector<uint8_t> px(2 * 3 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(10 * i + 5);
  f.Image("a.png", 2, 3, 3, px);
  f.Mask("a.png", 2, 3, {0, 200, 128, 129, 255, 10});
  auto d = LoadImageFolder(f.Options());
  REQUIRE(d.ok());
  CHECK(d->sample_shape == std::vector<int64_t>{3, 2, 3});
  CHECK(d->mask_shape == std::vector<int64_t>{2, 3});
  CHECK(d->num_classes == 2);
  CHECK(d->size() == 1);
  CHECK(d->labels == std::vector<int64_t>{1});
  CHECK(d->cases == std::vector<int32_t>{0});
  CHECK(d->masks == std::vector<uint8_t>{0, 1, 0, 1, 1, 0});
  REQUIRE(d->features.size() == 18);
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 3; ++x)
        CHECK(At(*d, 0, c, y, x) == Approx(px[static_cast<size_t>((y * 3 + x) * 3 + c)] / 255.0).margin(1e-6));
}

TEST_CASE("image_folder: grayscale and RGB conversion", "[data][image]") {
  Folder f;
  f.Image("rgb.png", 1, 2, 3, {200, 100, 50, 0, 255, 0});
  f.Image("grey.png", 1, 2, 1, {30, 240});
  f.Mask("rgb.png", 1, 2, {255, 0});
  f.Mask("grey.png", 1, 2, {0, 0});
  ImageFolderOptions o = f.Options();
  o.channels = 1;
  auto g = LoadImageFolder(o);
  REQUIRE(g.ok());
  CHECK(g->sample_shape == std::vector<int64_t>{1, 1, 2});
  // Sorted: grey.png, rgb.png. RGB -> grey is (77 R + 150 G + 29 B) >> 8.
  CHECK(At(*g, 0, 0, 0, 0) == Approx(30 / 255.0));
  CHECK(At(*g, 0, 0, 0, 1) == Approx(240 / 255.0));
  CHECK(At(*g, 1, 0, 0, 0) == Approx(((77 * 200 + 150 * 100 + 29 * 50) >> 8) / 255.0));
  CHECK(At(*g, 1, 0, 0, 1) == Approx(((150 * 255) >> 8) / 255.0));
  CHECK(g->labels == std::vector<int64_t>{0, 1});

  o.channels = 3;
  auto c = LoadImageFolder(o);
  REQUIRE(c.ok());
  for (int64_t ch = 0; ch < 3; ++ch) CHECK(At(*c, 0, ch, 0, 1) == Approx(240 / 255.0));  // grey replicated
  CHECK(At(*c, 1, 0, 0, 0) == Approx(200 / 255.0));
  CHECK(At(*c, 1, 1, 0, 0) == Approx(100 / 255.0));
  CHECK(At(*c, 1, 2, 0, 0) == Approx(50 / 255.0));
}

TEST_CASE("image_folder: mask threshold and colour masks", "[data][image]") {
  Folder f;
  f.Image("a.png", 1, 4, 1, {0, 0, 0, 0});
  f.Mask("a.png", 1, 4, {0, 100, 128, 250});
  ImageFolderOptions o = f.Options();
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(d->masks == std::vector<uint8_t>{0, 0, 0, 1});
  o.mask_threshold = 99;
  CHECK(LoadImageFolder(o)->masks == std::vector<uint8_t>{0, 1, 1, 1});
  o.mask_threshold = 250;
  d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(d->masks == std::vector<uint8_t>{0, 0, 0, 0});
  CHECK(d->labels == std::vector<int64_t>{0});
  // An RGB mask (as JPEG masks usually are) is thresholded on its luminance.
  f.Mask("a.png", 1, 4, {255, 255, 255, 0, 0, 0, 250, 240, 245, 130, 130, 130}, 3);
  o.mask_threshold = 128;
  CHECK(LoadImageFolder(o)->masks == std::vector<uint8_t>{1, 0, 1, 1});
  o.mask_threshold = 300;
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("image_folder: resizing images bilinearly and masks by nearest neighbour", "[data][image]") {
  Folder f;
  std::vector<uint8_t> px(16);
  for (size_t i = 0; i < 16; ++i) px[i] = static_cast<uint8_t>(i * 10);
  f.Image("a.png", 4, 4, 1, px);
  std::vector<uint8_t> m(16, 0);
  m[5] = 255;   // (1,1): sampled for output (0,0)
  m[0] = 255;   // (0,0): not sampled
  m[15] = 255;  // (3,3): sampled for output (1,1)
  f.Mask("a.png", 4, 4, m);
  ImageFolderOptions o = f.Options();
  o.channels = 1;
  o.height = o.width = 2;
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(d->sample_shape == std::vector<int64_t>{1, 2, 2});
  CHECK(d->mask_shape == std::vector<int64_t>{2, 2});
  // 2x2 block means of 0,10,...,150: 25, 45, 105, 125.
  CHECK(At(*d, 0, 0, 0, 0) == Approx(25 / 255.0).margin(1e-6));
  CHECK(At(*d, 0, 0, 0, 1) == Approx(45 / 255.0).margin(1e-6));
  CHECK(At(*d, 0, 0, 1, 0) == Approx(105 / 255.0).margin(1e-6));
  CHECK(At(*d, 0, 0, 1, 1) == Approx(125 / 255.0).margin(1e-6));
  CHECK(d->masks == std::vector<uint8_t>{1, 0, 0, 1});

  // Images of different sizes are fine once a size is set.
  f.Pair("b.png", 3, 5, 51);
  o.height = 8;
  o.width = 6;
  d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(d->size() == 2);
  CHECK(d->sample_shape == std::vector<int64_t>{1, 8, 6});
  for (int64_t y = 0; y < 8; ++y)
    for (int64_t x = 0; x < 6; ++x) CHECK(At(*d, 1, 0, y, x) == Approx(51 / 255.0).margin(1e-6));
  o.height = 0;
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kInvalidArgument);  // width alone
}

TEST_CASE("image_folder: per-image normalisation", "[data][image]") {
  Folder f;
  f.Image("a.png", 1, 2, 3, {0, 10, 7, 255, 10, 7});
  f.Mask("a.png", 1, 2, {0, 0});
  ImageFolderOptions o = f.Options();
  o.normalize = true;
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(d->features == std::vector<float>{-1, 1, 0, 0, 0, 0});
}

TEST_CASE("image_folder: matching masks by file name or stem", "[data][image]") {
  Folder f;
  f.Pair("a.png", 2, 2, 1);
  f.Image("B.PNG", 2, 2, 1, {2, 2, 2, 2});
  REQUIRE(WritePng(f.File("masks/B.bmp"), std::vector<uint8_t>(4, 255).data(), 2, 2, 1).ok());  // PNG data
  f.Pair("c.jpeg", 2, 2, 3);
  f.Mask("orphan.png", 2, 2, {255, 255, 255, 255});  // a mask without an image: ignored
  { std::ofstream(f.File("images/notes.txt")) << "not an image"; }
  { std::ofstream(f.File("images/.hidden.png")) << "not an image"; }
  auto names = ListImages(f.File("images"));
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"B.PNG", "a.png", "c.jpeg"});
  ImageFolderOptions o = f.Options();
  o.channels = 1;
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 3);
  CHECK(At(*d, 0, 0, 0, 0) == Approx(2 / 255.0));
  CHECK(d->masks == std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0});
  CHECK(d->labels == std::vector<int64_t>{1, 1, 1});
  CHECK(ListImages(f.File("nope")).status().code() == StatusCode::kNotFound);
  CHECK(ListImages(f.File("images/a.png")).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("image_folder: names select and order the images", "[data][image]") {
  Folder f;
  f.Pair("a.png", 2, 2, 10);
  f.Pair("b.png", 2, 2, 20);
  f.Pair("c.png", 2, 2, 30);
  ImageFolderOptions o = f.Options();
  o.names = {"c", "a.png"};
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 2);
  CHECK(At(*d, 0, 0, 0, 0) == Approx(30 / 255.0));
  CHECK(At(*d, 1, 0, 0, 0) == Approx(10 / 255.0));
  CHECK(d->cases == std::vector<int32_t>{0, 1});

  o.names = {"a", "zzz"};
  auto missing = LoadImageFolder(o);
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Contains("zzz"));

  f.Pair("a.jpg", 2, 2, 40);
  o.names = {"a"};
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kInvalidArgument);  // a.jpg or a.png?
  o.names = {"a.jpg"};
  d = LoadImageFolder(o);
  REQUIRE(d.ok());
  CHECK(At(*d, 0, 0, 0, 0) == Approx(40 / 255.0));
}

TEST_CASE("image_folder: many images load in order on several threads", "[data][image]") {
  Folder f;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    const std::string name = "img" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".png";
    f.Image(name, 6, 5, 3, std::vector<uint8_t>(6 * 5 * 3, static_cast<uint8_t>(3 * i)));
    f.Mask(name, 6, 5, std::vector<uint8_t>(6 * 5, i % 3 ? 255 : 0));
  }
  ImageFolderOptions o = f.Options();
  o.height = 3;
  o.width = 4;
  auto d = LoadImageFolder(o);
  REQUIRE(d.ok());
  REQUIRE(d->size() == 40);
  for (size_t i = 0; i < 40; ++i) {
    INFO("sample " << i);
    CHECK(At(*d, i, 2, 1, 1) == Approx(3.0 * static_cast<double>(i) / 255.0).margin(1e-6));
    CHECK(d->labels[i] == (i % 3 ? 1 : 0));
    CHECK(d->cases[i] == static_cast<int32_t>(i));
  }
}

TEST_CASE("image_folder: a missing mask is an error naming the image", "[data][image]") {
  Folder f;
  f.Pair("a.png", 2, 2, 1);
  f.Image("lonely.png", 2, 2, 1, {0, 0, 0, 0});
  auto d = LoadImageFolder(f.Options());
  CHECK(d.status().code() == StatusCode::kNotFound);
  CHECK_THAT(d.status().message(), Contains("lonely.png"));
}

TEST_CASE("image_folder: size mismatches are errors", "[data][image]") {
  Folder f;
  f.Pair("a.png", 2, 2, 1);
  f.Image("b.png", 2, 3, 1, std::vector<uint8_t>(6, 0));
  f.Mask("b.png", 3, 2, std::vector<uint8_t>(6, 0));
  auto d = LoadImageFolder(f.Options());
  CHECK(d.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(d.status().message(), Contains("b.png") && Contains("2x3") && Contains("3x2"));

  f.Mask("b.png", 2, 3, std::vector<uint8_t>(6, 0));
  d = LoadImageFolder(f.Options());  // images of different sizes without a target size
  CHECK(d.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(d.status().message(), Contains("b.png") && Contains("a.png") && Contains("2x3") && Contains("2x2"));
  ImageFolderOptions o = f.Options();
  o.height = o.width = 2;
  CHECK(LoadImageFolder(o).ok());
}

TEST_CASE("image_folder: truncated and non-image files are errors", "[data][image]") {
  Folder f;
  f.Pair("a.png", 8, 8, 1);
  f.Pair("b.png", 8, 8, 2);
  fs::resize_file(f.File("images/b.png"), fs::file_size(f.File("images/b.png")) / 2);
  auto d = LoadImageFolder(f.Options());
  CHECK(d.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(d.status().message(), Contains("b.png"));

  f.Pair("b.png", 8, 8, 2);
  { std::ofstream(f.File("masks/a.png"), std::ios::trunc) << "plain text, not a PNG"; }
  d = LoadImageFolder(f.Options());
  CHECK(d.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(d.status().message(), Contains("masks") && Contains("a.png"));
}

TEST_CASE("image_folder: missing or empty folders and bad options", "[data][image]") {
  Folder f;
  auto empty = LoadImageFolder(f.Options());
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(empty.status().message(), Contains("no images"));
  ImageFolderOptions o = f.Options();
  o.images_dir = "imgs";
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kNotFound);
  o = f.Options();
  o.path = f.File("nowhere");
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kNotFound);
  f.Pair("a.png", 2, 2, 1);
  o = f.Options();
  o.masks_dir = "labels";
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kNotFound);
  o = f.Options();
  o.channels = 4;
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kInvalidArgument);
  o = f.Options();
  o.height = -1;
  o.width = 2;
  CHECK(LoadImageFolder(o).status().code() == StatusCode::kInvalidArgument);
}

namespace {

// Loads a polyp dataset at 64x64 and checks what every one of them should satisfy.
void CheckPolypFolder(const std::string& dir, size_t expected) {
  if (!fs::is_directory(dir)) {
    WARN("skipped: missing " << dir);
    return;
  }
  ImageFolderOptions o;
  o.path = dir;
  o.height = o.width = 64;
  const auto t0 = std::chrono::steady_clock::now();
  auto d = LoadImageFolder(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(d.ok());
  WARN(dir << ": " << d->size() << " images at 64x64 in " << secs << " s");
  CHECK(d->size() == expected);
  CHECK(d->sample_shape == std::vector<int64_t>{3, 64, 64});
  CHECK(d->mask_shape == std::vector<int64_t>{64, 64});
  CHECK(d->features.size() == d->size() * 3 * 64 * 64);
  CHECK(d->masks.size() == d->size() * 64 * 64);
  float lo = 1, hi = 0;
  for (float v : d->features) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= 0.0f);
  CHECK(hi <= 1.0f);
  CHECK(hi > 0.9f);
  size_t with_fg = 0, fg = 0;
  for (int64_t l : d->labels) with_fg += l == 1 ? 1 : 0;
  size_t bad = 0;
  for (uint8_t m : d->masks) {
    bad += m > 1 ? 1 : 0;
    fg += m;
  }
  CHECK(bad == 0);
  CHECK(with_fg > d->size() * 9 / 10);
  const double frac = static_cast<double>(fg) / static_cast<double>(d->masks.size());
  CHECK(frac > 0.02);  // polyps cover a small but real part of the frames
  CHECK(frac < 0.5);
}

}  // namespace

TEST_CASE("image_folder: Kvasir-SEG loads at 64x64", "[data][image]") {
  CheckPolypFolder(std::string(FL_SHARED_DATA_DIR) + "/polyp/kvasir", 998);
}

TEST_CASE("image_folder: CVC-ClinicDB loads at 64x64", "[data][image]") {
  CheckPolypFolder(std::string(FL_SHARED_DATA_DIR) + "/polyp/cvc_clinicdb", 609);
}
