// Tests for worker/data's image utilities: resampling, crop/pad, z-scoring and PNG I/O.
#include <catch2/catch.hpp>
#include <stb_image_write.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "data/image_ops.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::CropOrPad2D;
using fl::data::ReadImage;
using fl::data::ResizeBilinear;
using fl::data::ResizeNearest;
using fl::data::WritePng;
using fl::data::ZScoreChannels;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_image_ops_test_") {}
};

void RequireNear(const std::vector<float>& got, const std::vector<float>& want, double eps = 1e-5) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i);
    REQUIRE(got[i] == Approx(want[i]).margin(eps));
  }
}

}  // namespace

TEST_CASE("image_ops: bilinear resize of a constant image stays constant", "[data][image]") {
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{256, 64}, {5, 3}, {3, 7}, {4, 4}, {10, 1}, {1, 9}, {100, 33}};
  for (auto [in, out] : sizes) {
    for (auto [in2, out2] : sizes) {
      std::vector<float> img(static_cast<size_t>(2 * in * in2));
      for (size_t i = 0; i < img.size(); ++i) img[i] = i < img.size() / 2 ? 0.25f : 0.75f;
      const std::vector<float> r = ResizeBilinear(img, 2, in, in2, out, out2);
      REQUIRE(r.size() == static_cast<size_t>(2 * out * out2));
      for (size_t i = 0; i < r.size(); ++i) REQUIRE(r[i] == Approx(i < r.size() / 2 ? 0.25 : 0.75).margin(1e-6));
    }
  }
}

TEST_CASE("image_ops: bilinear matches torch's align_corners=False values", "[data][image]") {
  // torch.nn.functional.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
  RequireNear(ResizeBilinear({0, 1, 2, 3}, 1, 2, 2, 4, 4),
              {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3});
  // 4x4 -> 2x2 (factor 2): means of the 2x2 blocks.
  std::vector<float> img(16);
  for (int i = 0; i < 16; ++i) img[static_cast<size_t>(i)] = static_cast<float>(i);
  RequireNear(ResizeBilinear(img, 1, 4, 4, 2, 2), {2.5f, 4.5f, 10.5f, 12.5f});
  // 1x3 -> 1x2 (factor 1.5): samples at x = 0.25 and 1.75.
  RequireNear(ResizeBilinear({0, 1, 2}, 1, 1, 3, 1, 2), {0.25f, 1.75f});
  // Same size: an exact copy.
  RequireNear(ResizeBilinear(img, 1, 4, 4, 4, 4), img, 0);
}

TEST_CASE("image_ops: bilinear resize of a ramp stays linear in the interior", "[data][image]") {
  const int64_t w = 8, out_w = 16;
  std::vector<float> ramp(static_cast<size_t>(3 * w));
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < w; ++x) ramp[static_cast<size_t>(y * w + x)] = static_cast<float>(x);
  const std::vector<float> up = ResizeBilinear(ramp, 1, 3, w, 3, out_w);
  REQUIRE(up.size() == static_cast<size_t>(3 * out_w));
  for (int64_t y = 0; y < 3; ++y) {
    for (int64_t x = 1; x < out_w - 1; ++x) {
      const double src = (static_cast<double>(x) + 0.5) * 0.5 - 0.5;
      REQUIRE(up[static_cast<size_t>(y * out_w + x)] == Approx(src).margin(1e-5));
    }
    REQUIRE(up[static_cast<size_t>(y * out_w)] == Approx(0.0));  // clamped at the edges
    REQUIRE(up[static_cast<size_t>(y * out_w + out_w - 1)] == Approx(7.0));
  }
  // Downscaling by 4 (area average) keeps a ramp linear everywhere: mean of 4d..4d+3.
  std::vector<float> long_ramp(256);
  for (int i = 0; i < 256; ++i) long_ramp[static_cast<size_t>(i)] = static_cast<float>(i);
  const std::vector<float> down = ResizeBilinear(long_ramp, 1, 1, 256, 1, 64);
  REQUIRE(down.size() == 64);
  for (int d = 0; d < 64; ++d) REQUIRE(down[static_cast<size_t>(d)] == Approx(4 * d + 1.5).margin(1e-4));
}

TEST_CASE("image_ops: downscaling 256 -> 64 averages 4x4 blocks", "[data][image]") {
  // Vertical stripes 1,0,0,0: a point sampler would return 0 or 1, the average is 0.25.
  std::vector<float> stripes(256 * 256);
  for (int y = 0; y < 256; ++y)
    for (int x = 0; x < 256; ++x) stripes[static_cast<size_t>(y * 256 + x)] = x % 4 == 0 ? 1.0f : 0.0f;
  for (float v : ResizeBilinear(stripes, 1, 256, 256, 64, 64)) REQUIRE(v == Approx(0.25).margin(1e-6));

  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> img(3 * 256 * 256);
  for (float& v : img) v = u(gen);
  const std::vector<float> r = ResizeBilinear(img, 3, 256, 256, 64, 64);
  REQUIRE(r.size() == 3 * 64 * 64);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 64; ++y) {
      for (int x = 0; x < 64; ++x) {
        double sum = 0;
        for (int dy = 0; dy < 4; ++dy)
          for (int dx = 0; dx < 4; ++dx) sum += img[static_cast<size_t>((c * 256 + 4 * y + dy) * 256 + 4 * x + dx)];
        REQUIRE(r[static_cast<size_t>((c * 64 + y) * 64 + x)] == Approx(sum / 16).margin(1e-5));
      }
    }
  }
  // A non-integer factor (10 -> 3) weights partially covered pixels: output 0 covers
  // [0, 10/3), i.e. pixels 0, 1, 2 and a third of pixel 3.
  std::vector<float> ten(10);
  for (int i = 0; i < 10; ++i) ten[static_cast<size_t>(i)] = static_cast<float>(i);
  RequireNear(ResizeBilinear(ten, 1, 1, 10, 1, 3), {1.2f, 4.5f, 7.8f}, 1e-4);
}

TEST_CASE("image_ops: invalid resize arguments give an empty result", "[data][image]") {
  const std::vector<float> img(12, 1.0f);
  CHECK(ResizeBilinear(img, 1, 3, 3, 2, 2).empty());   // wrong buffer size
  CHECK(ResizeBilinear(img, 1, 3, 4, 0, 2).empty());   // zero output
  CHECK(ResizeBilinear(img, -1, 3, 4, 2, 2).empty());
  CHECK(ResizeBilinear(img, 1, int64_t{1} << 40, 4, 2, 2).empty());
  CHECK(ResizeNearest(std::vector<uint8_t>(5), 2, 2, 4, 4).empty());
  CHECK(CropOrPad2D(img, 1, 3, 3, 2, 2, 0.0f).empty());
  CHECK(CropOrPad2D(std::vector<uint8_t>(4), 2, 2, 0, 2, uint8_t{0}).empty());
}

TEST_CASE("image_ops: nearest resize keeps mask values", "[data][image]") {
  std::vector<uint8_t> m(16);
  for (int i = 0; i < 16; ++i) m[static_cast<size_t>(i)] = static_cast<uint8_t>(i);
  // Centres of output pixels 0,1 of a 4 -> 2 axis fall in source pixels 1 and 3.
  CHECK(ResizeNearest(m, 4, 4, 2, 2) == std::vector<uint8_t>{5, 7, 13, 15});
  CHECK(ResizeNearest({1, 2, 3, 4}, 2, 2, 4, 4) ==
        std::vector<uint8_t>{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // 3 -> 5: floor((d + 0.5) * 0.6) = 0,0,1,2,2.
  CHECK(ResizeNearest({7, 8, 9}, 1, 3, 1, 5) == std::vector<uint8_t>{7, 7, 8, 9, 9});
  CHECK(ResizeNearest(m, 4, 4, 4, 4) == m);
}

TEST_CASE("image_ops: CropOrPad2D crops and pads around the centre", "[data][image]") {
  std::vector<float> img(25);
  for (int i = 0; i < 25; ++i) img[static_cast<size_t>(i)] = static_cast<float>(i);
  RequireNear(CropOrPad2D(img, 1, 5, 5, 3, 3, -1.0f), {6, 7, 8, 11, 12, 13, 16, 17, 18}, 0);
  // Pad 2x2 -> 4x4 with the fill around it.
  RequireNear(CropOrPad2D({1, 2, 3, 4}, 1, 2, 2, 4, 4, 9.0f),
              {9, 9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9, 9, 9, 9}, 0);
  // Odd padding goes to the end, odd crop surplus is removed from the end.
  RequireNear(CropOrPad2D({1, 2}, 1, 1, 2, 1, 3, 0.0f), {1, 2, 0}, 0);
  RequireNear(CropOrPad2D({1, 2, 3, 4}, 1, 1, 4, 1, 3, 0.0f), {1, 2, 3}, 0);
  // Crop rows and pad columns at once, two channels.
  RequireNear(CropOrPad2D({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}, 2, 3, 3, 1, 5, 0.5f),
              {0.5f, 4, 5, 6, 0.5f, 0.5f, 13, 14, 15, 0.5f}, 0);
  CHECK(CropOrPad2D(std::vector<uint8_t>{1, 2, 3, 4}, 2, 2, 3, 4, uint8_t{7}) ==
        std::vector<uint8_t>{7, 1, 2, 7, 7, 3, 4, 7, 7, 7, 7, 7});
}

TEST_CASE("image_ops: ZScoreChannels normalises each channel", "[data][image]") {
  std::vector<float> img = {1, 2, 3, 4, 5, 5, 5, 5, 0, 10, 0, 10};
  ZScoreChannels(img, 3, 4);
  const double s = std::sqrt(1.25);
  RequireNear(img, {static_cast<float>(-1.5 / s), static_cast<float>(-0.5 / s), static_cast<float>(0.5 / s),
                    static_cast<float>(1.5 / s), 0, 0, 0, 0, -1, 1, -1, 1});
  std::vector<float> wrong = {1, 2, 3};
  ZScoreChannels(wrong, 2, 2);  // size mismatch: unchanged
  CHECK(wrong == std::vector<float>{1, 2, 3});
}

TEST_CASE("image_ops: WritePng and ReadImage round-trip", "[data][image]") {
  TempDir dir;
  std::vector<uint8_t> rgb(2 * 3 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 13);
  const std::string path = dir.File("a.png");
  REQUIRE(WritePng(path, rgb.data(), 2, 3, 3).ok());
  auto img = ReadImage(path, 0);
  REQUIRE(img.ok());
  CHECK(img->h == 2);
  CHECK(img->w == 3);
  CHECK(img->c == 3);
  CHECK(img->hwc == rgb);
  // RGBA read as RGB drops alpha; RGB read as grey is the luminance.
  auto grey = ReadImage(path, 1);
  REQUIRE(grey.ok());
  REQUIRE(grey->c == 1);
  for (size_t p = 0; p < 6; ++p) {
    const int want = (77 * rgb[3 * p] + 150 * rgb[3 * p + 1] + 29 * rgb[3 * p + 2]) >> 8;
    CHECK(grey->hwc[p] == want);
  }
  std::vector<uint8_t> rgba = {10, 20, 30, 40, 50, 60, 70, 80};
  REQUIRE(WritePng(path, rgba.data(), 1, 2, 4).ok());  // overwrites
  auto as_rgb = ReadImage(path, 3);
  REQUIRE(as_rgb.ok());
  CHECK(as_rgb->hwc == std::vector<uint8_t>{10, 20, 30, 50, 60, 70});
  // Only the final file is left: no temporary files.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
}

TEST_CASE("image_ops: WritePng rejects bad arguments", "[data][image]") {
  TempDir dir;
  const std::vector<uint8_t> px(16, 0);
  CHECK(WritePng(dir.File("a.png"), nullptr, 2, 2, 1).code() == StatusCode::kInvalidArgument);
  CHECK(WritePng(dir.File("a.png"), px.data(), 2, 2, 5).code() == StatusCode::kInvalidArgument);
  CHECK(WritePng(dir.File("a.png"), px.data(), 0, 2, 1).code() == StatusCode::kInvalidArgument);
  CHECK(WritePng(dir.File("a.png"), px.data(), int64_t{1} << 40, 2, 1).code() == StatusCode::kInvalidArgument);
  CHECK_FALSE(WritePng(dir.File("no/such/dir/a.png"), px.data(), 2, 2, 1).ok());
  CHECK_FALSE(fs::exists(dir.File("a.png")));
}

TEST_CASE("image_ops: ReadImage errors name the file", "[data][image]") {
  TempDir dir;
  auto missing = ReadImage(dir.File("missing.png"));
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Contains("missing.png"));
  CHECK(ReadImage(dir.path()).status().code() == StatusCode::kInvalidArgument);
  CHECK(ReadImage(dir.File("x.png"), 5).status().code() == StatusCode::kInvalidArgument);

  { std::ofstream(dir.File("text.png")) << "this is not an image, just some text\n"; }
  auto text = ReadImage(dir.File("text.png"));
  CHECK(text.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(text.status().message(), Contains("text.png"));
  { std::ofstream(dir.File("empty.jpg")); }
  CHECK(ReadImage(dir.File("empty.jpg")).status().code() == StatusCode::kDataLoss);

  std::vector<uint8_t> px(32 * 32 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 31) % 251);
  REQUIRE(WritePng(dir.File("t.png"), px.data(), 32, 32, 3).ok());
  const auto full = fs::file_size(dir.File("t.png"));
  for (uintmax_t keep : {full / 2, full - 12, uintmax_t{40}, uintmax_t{8}}) {
    REQUIRE(WritePng(dir.File("t.png"), px.data(), 32, 32, 3).ok());
    fs::resize_file(dir.File("t.png"), keep);
    auto r = ReadImage(dir.File("t.png"));
    INFO("kept " << keep << " of " << full << " bytes");
    CHECK(r.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(r.status().message(), Contains("t.png"));
  }
  // A truncated baseline JPEG (no end-of-image marker) is rejected too.
  REQUIRE(stbi_write_jpg(dir.File("t.jpg").c_str(), 32, 32, 3, px.data(), 90) != 0);
  REQUIRE(ReadImage(dir.File("t.jpg"), 3).ok());
  fs::resize_file(dir.File("t.jpg"), fs::file_size(dir.File("t.jpg")) * 3 / 4);
  auto jpg = ReadImage(dir.File("t.jpg"), 3);
  CHECK(jpg.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(jpg.status().message(), Contains("t.jpg"));
}
