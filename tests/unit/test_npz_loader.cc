// Tests for worker/data's .npy parser and .npz loader. Archives are written on the fly with
// libzip (stored and deflated members) and, where available, by numpy itself.
#include <catch2/catch.hpp>

#include "temp_dir.h"
#include <zip.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "data/npz_loader.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::LoadNpz;
using fl::data::NpyArray;
using fl::data::NpzOptions;
using fl::data::ParseNpy;
using fl::data::ReadNpz;
using Catch::Matchers::Contains;

namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;  // member name -> bytes

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_npz_test_") {}
};

std::string Shape(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// A .npy file as numpy writes it: header padded with spaces to a multiple of 64, then '\n'.
std::string Npy(const std::string& descr, const std::vector<int64_t>& shape,
                const std::string& data, int major = 1, bool fortran = false) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " +
                       (fortran ? "True" : "False") + ", 'shape': " + Shape(shape) + ", }";
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

// Little-endian bytes of integers, `width` bytes each.
std::string Ints(const std::vector<int64_t>& v, int width) {
  std::string out;
  for (int64_t x : v) {
    const auto u = static_cast<uint64_t>(x);
    for (int i = 0; i < width; ++i) out += static_cast<char>((u >> (8 * i)) & 0xFF);
  }
  return out;
}

// `n` bytes 0, 1, 2, ... (mod 256).
std::string Ramp(size_t n, int start = 0) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += static_cast<char>((start + i) % 256);
  return out;
}

// Writes a zip archive with libzip; members are stored, or deflated when `deflate`.
void WriteZip(const std::string& path, const Entries& entries, bool deflate = false) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  REQUIRE(z != nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    REQUIRE(src != nullptr);
    const zip_int64_t idx = zip_file_add(z, name.c_str(), src, ZIP_FL_OVERWRITE);
    REQUIRE(idx >= 0);
    REQUIRE(zip_set_file_compression(z, static_cast<zip_uint64_t>(idx),
                                     deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0) == 0);
  }
  REQUIRE(zip_close(z) == 0);  // sources are read here, while `entries` is alive
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

fl::StatusOr<NpyArray> Parse(const std::string& bytes) {
  return ParseNpy(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "test.npy");
}

// A small valid MedMNIST-like archive: 3 train and 2 test 2x2 grayscale images.
Entries SmallArchive() {
  return {{"train_images.npy", Npy("|u1", {3, 2, 2}, Ramp(12, 0))},
          {"train_labels.npy", Npy("|u1", {3}, Ints({0, 1, 2}, 1))},
          {"test_images.npy", Npy("|u1", {2, 2, 2}, Ramp(8, 100))},
          {"test_labels.npy", Npy("<i8", {2, 1}, Ints({4, 0}, 8))}};
}

}  // namespace

// ---- ParseNpy ----------------------------------------------------------------------------

TEST_CASE("npz: ParseNpy reads version 1, 2 and 3 headers", "[data][npz]") {
  const int major = GENERATE(1, 2, 3);
  auto a = Parse(Npy("<f4", {2, 3}, std::string(24, '\x01'), major));
  REQUIRE(a.ok());
  CHECK(a->dtype == "<f4");
  CHECK(a->shape == std::vector<int64_t>{2, 3});
  CHECK(a->numel() == 6);
  CHECK(a->data.size() == 24);
}

TEST_CASE("npz: ParseNpy handles 0-d and empty arrays", "[data][npz]") {
  auto scalar = Parse(Npy("<i8", {}, Ints({7}, 8)));
  REQUIRE(scalar.ok());
  CHECK(scalar->shape.empty());
  CHECK(scalar->numel() == 1);
  auto empty = Parse(Npy("|u1", {0, 28, 28}, ""));
  REQUIRE(empty.ok());
  CHECK(empty->numel() == 0);
}

TEST_CASE("npz: ParseNpy rejects unsupported arrays", "[data][npz]") {
  SECTION("fortran order") {
    auto a = Parse(Npy("<f4", {2, 2}, std::string(16, '\0'), 1, true));
    CHECK(a.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(a.status().message(), Contains("test.npy") && Contains("fortran"));
  }
  SECTION("big-endian") {
    auto a = Parse(Npy(">i4", {2}, std::string(8, '\0')));
    CHECK_THAT(a.status().message(), Contains("big-endian"));
  }
  SECTION("object, string, complex and structured dtypes") {
    const std::string descr = GENERATE(as<std::string>{}, "|O", "<U5", "|S3", "<c8", "<f16", "");
    CHECK(Parse(Npy(descr, {1}, std::string(8, '\0'))).status().code() ==
          StatusCode::kInvalidArgument);
    std::string structured = Npy("<i4", {1}, std::string(4, '\0'));
    structured.replace(structured.find("'<i4'"), 5, "[('a', '<i4')]");
    CHECK(!Parse(structured).ok());
  }
  SECTION("unknown format version") {
    std::string bytes = Npy("|u1", {1}, "x");
    bytes[6] = 9;
    CHECK(Parse(bytes).status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("npz: ParseNpy reports truncated and malformed input", "[data][npz]") {
  const std::string good = Npy("<i2", {3, 2}, Ints({1, 2, 3, 4, 5, 6}, 2));
  SECTION("data too short or too long") {
    auto shorter = Parse(good.substr(0, good.size() - 1));
    CHECK(shorter.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(shorter.status().message(), Contains("test.npy") && Contains("truncated") &&
                                               Contains("(3, 2)"));
    auto longer = Parse(good + "xy");
    CHECK(longer.status().code() == StatusCode::kDataLoss);
  }
  SECTION("bad magic") {
    CHECK(Parse("PK\x03\x04 this is not numpy").status().code() == StatusCode::kDataLoss);
  }
  SECTION("every prefix fails cleanly") {
    for (size_t n = 0; n < good.size(); ++n) {
      REQUIRE(!Parse(good.substr(0, n)).ok());
    }
    CHECK(Parse(good).ok());
  }
  SECTION("garbage headers") {
    const std::string bad = GENERATE(as<std::string>{}, "{}", "{'descr': '<i2'}",
                                     "{'descr': '<i2', 'fortran_order': False, 'shape': (3, 2, }",
                                     "{'descr': '<i2', 'fortran_order': Maybe, 'shape': (6,)}",
                                     "{'descr': '<i2', 'fortran_order': False, 'shape': (-6,)}",
                                     "{'descr': '<i2', 'fortran_order': False, 'shape': (6,), "
                                     "'extra': 1}",
                                     "{'descr': '<i2', 'fortran_order': False, 'shape': "
                                     "(99999999999999999999,)}",
                                     "{'descr: '<i2', 'fortran_order': False, 'shape': (6,)}");
    std::string bytes = "\x93NUMPY\x01";
    bytes += '\0';
    bytes += static_cast<char>(bad.size());
    bytes += '\0';
    bytes += bad + Ints({1, 2, 3, 4, 5, 6}, 2);
    CHECK(Parse(bytes).status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("random corruption never crashes") {
    std::mt19937 gen(11);
    for (int trial = 0; trial < 2000; ++trial) {
      std::string bytes = good;
      for (int k = 0; k < 3; ++k) bytes[gen() % bytes.size()] = static_cast<char>(gen());
      (void)Parse(bytes);  // any result, but no crash (run under ASan in development)
    }
  }
}

// ---- ReadNpz / LoadNpz on synthetic archives ------------------------------------------

TEST_CASE("npz: stored archive loads grayscale images scaled to [0,1]", "[data][npz]") {
  TempDir dir;
  const std::string path = dir.File("small.npz");
  const bool deflate = GENERATE(false, true);
  WriteZip(path, SmallArchive(), deflate);

  auto all = ReadNpz(path, {});
  REQUIRE(all.ok());
  CHECK(all->size() == 4);
  CHECK(all->count("train_images") == 1);

  NpzOptions o;
  o.path = path;
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.sample_shape == std::vector<int64_t>{1, 2, 2});
  CHECK(s->train.size() == 3);
  CHECK(s->test.size() == 2);
  CHECK(s->train.num_classes == 5);  // max label 4 (in test) + 1
  CHECK(s->test.num_classes == 5);
  CHECK(s->train.labels == std::vector<int64_t>{0, 1, 2});
  CHECK(s->test.labels == std::vector<int64_t>{4, 0});
  REQUIRE(s->train.features.size() == 12);
  for (size_t i = 0; i < 12; ++i) CHECK(s->train.features[i] == Approx(i / 255.0));
  CHECK(s->test.features[0] == Approx(100 / 255.0));
}

TEST_CASE("npz: RGB images are transposed from HWC to CHW", "[data][npz]") {
  TempDir dir;
  const std::string path = dir.File("rgb.npz");
  // 2 images of 2x3 pixels with 3 channels; byte value = n*18 + (y*3 + x)*3 + c.
  WriteZip(path, {{"train_images.npy", Npy("|u1", {2, 2, 3, 3}, Ramp(36))},
                  {"train_labels.npy", Npy("<i4", {2}, Ints({1, 0}, 4))},
                  {"test_images.npy", Npy("|u1", {1, 2, 3, 3}, Ramp(18))},
                  {"test_labels.npy", Npy("<u2", {1}, Ints({1}, 2))}});
  NpzOptions o;
  o.path = path;
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.sample_shape == std::vector<int64_t>{3, 2, 3});
  CHECK(s->train.num_classes == 2);
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 6; ++p) {
        CHECK(s->train.features[n * 18 + c * 6 + p] == Approx((n * 18 + p * 3 + c) / 255.0));
      }
    }
  }
}

TEST_CASE("npz: archive written by numpy.savez_compressed loads", "[data][npz]") {
  if (!fs::exists("/usr/bin/python3")) {
    WARN("skipped: missing /usr/bin/python3");
    return;
  }
  TempDir dir;
  const std::string path = dir.File("numpy.npz");
  const std::string cmd =
      "/usr/bin/python3 -c \"import numpy as np; "
      "a = (np.arange(2 * 4 * 5 * 3) % 256).astype(np.uint8).reshape(2, 4, 5, 3); "
      "np.savez_compressed('" + path + "', train_images=a, "
      "train_labels=np.array([0, 2], dtype=np.int64), test_images=a[:1], "
      "test_labels=np.array([[1]], dtype=np.uint8))\" 2>/dev/null";
  if (std::system(cmd.c_str()) != 0 || !fs::exists(path)) {
    WARN("skipped: /usr/bin/python3 could not write " << path << " (numpy missing?)");
    return;
  }
  auto arrays = ReadNpz(path, {"train_images", "train_labels"});
  REQUIRE(arrays.ok());
  CHECK(arrays->size() == 2);
  CHECK(arrays->at("train_images").shape == std::vector<int64_t>{2, 4, 5, 3});
  CHECK(arrays->at("train_labels").dtype == "<i8");

  NpzOptions o;
  o.path = path;
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.sample_shape == std::vector<int64_t>{3, 4, 5});
  CHECK(s->train.labels == std::vector<int64_t>{0, 2});
  CHECK(s->test.labels == std::vector<int64_t>{1});
  CHECK(s->train.num_classes == 3);
  for (int n = 0; n < 2; ++n) {
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 20; ++p) {
        CHECK(s->train.features[n * 60 + c * 20 + p] == Approx((n * 60 + p * 3 + c) / 255.0));
      }
    }
  }
}

TEST_CASE("npz: partition and max_train/max_test select rows", "[data][npz]") {
  TempDir dir;
  const std::string path = dir.File("part.npz");
  std::vector<int64_t> labels(50);
  for (int i = 0; i < 50; ++i) labels[i] = i;  // label = row index, to identify rows
  WriteZip(path, {{"train_images.npy", Npy("|u1", {50, 1, 1}, Ramp(50))},
                  {"train_labels.npy", Npy("<i8", {50}, Ints(labels, 8))},
                  {"test_images.npy", Npy("|u1", {10, 1, 1}, Ramp(10))},
                  {"test_labels.npy", Npy("<i8", {10}, Ints({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 8))}});
  NpzOptions o;
  o.path = path;
  o.partition.weights = {3, 2};
  o.partition.seed = 5;
  std::vector<int64_t> seen;
  for (size_t i = 0; i < 2; ++i) {
    o.partition.index = i;
    auto s = LoadNpz(o);
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 50);
    CHECK(s->train.size() == (i == 0 ? 30u : 20u));
    CHECK(s->test.size() == (i == 0 ? 6u : 4u));
    for (size_t k = 0; k < s->train.size(); ++k) {
      CHECK(s->train.features[k] == Approx(s->train.labels[k] / 255.0));  // image matches label
    }
    seen.insert(seen.end(), s->train.labels.begin(), s->train.labels.end());
  }
  std::sort(seen.begin(), seen.end());
  CHECK(seen == labels);

  o.partition.index = 0;
  o.max_train = 7;
  o.max_test = 100;
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.size() == 7);
  CHECK(s->test.size() == 6);
  o.max_train = -1;
  CHECK(LoadNpz(o).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("npz: bad archives give errors naming the file and member", "[data][npz]") {
  TempDir dir;
  const std::string path = dir.File("bad.npz");
  Entries e = SmallArchive();
  NpzOptions o;
  o.path = path;

  SECTION("truncated member") {
    e[0].second = Npy("|u1", {3, 2, 2}, Ramp(10));  // 10 of 12 bytes
    WriteZip(path, e);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains("bad.npz") && Contains("train_images.npy") &&
                                         Contains("truncated"));
  }
  SECTION("images with dtype <f8") {
    e[0].second = Npy("<f8", {3, 2, 2}, std::string(96, '\0'));
    WriteZip(path, e);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("train_images.npy") && Contains("<f8"));
  }
  SECTION("images with a bad rank") {
    e[2].second = Npy("|u1", {2, 4}, Ramp(8));
    WriteZip(path, e);
    CHECK_THAT(LoadNpz(o).status().message(), Contains("test_images.npy") && Contains("(2, 4)"));
  }
  SECTION("train and test sample shapes differ") {
    e[2].second = Npy("|u1", {2, 2, 3}, Ramp(12));
    WriteZip(path, e);
    CHECK_THAT(LoadNpz(o).status().message(), Contains("different sample shapes"));
  }
  SECTION("float labels") {
    e[1].second = Npy("<f4", {3}, std::string(12, '\0'));
    WriteZip(path, e);
    CHECK_THAT(LoadNpz(o).status().message(), Contains("train_labels.npy") && Contains("integer"));
  }
  SECTION("labels/images count mismatch") {
    e[1].second = Npy("|u1", {4}, Ints({0, 1, 0, 1}, 1));
    WriteZip(path, e);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("train_labels.npy") && Contains("4 labels") &&
                                         Contains("train_images.npy") && Contains("3 images"));
  }
  SECTION("negative label") {
    e[3].second = Npy("<i8", {2, 1}, Ints({1, -3}, 8));
    WriteZip(path, e);
    CHECK_THAT(LoadNpz(o).status().message(), Contains("test_labels.npy") && Contains("negative"));
  }
  SECTION("a label far beyond any class count (it once sized a 128 GB allocation)") {
    e[3].second = Npy("<i8", {2, 1}, Ints({1, 2000000000}, 8));
    WriteZip(path, e);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("test_labels.npy") && Contains("2000000000") && Contains("0..999"));
  }
  SECTION("fortran-order member") {
    e[0].second = Npy("|u1", {3, 2, 2}, Ramp(12), 1, true);
    WriteZip(path, e);
    CHECK_THAT(LoadNpz(o).status().message(), Contains("train_images.npy") && Contains("fortran"));
  }
  SECTION("missing member") {
    e.pop_back();
    WriteZip(path, e);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("bad.npz") && Contains("test_labels.npy"));
  }
  SECTION("missing file") {
    o.path = dir.File("nope.npz");
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("nope.npz"));
  }
  SECTION("not a zip file") {
    WriteAll(path, "just some text, not an archive\n");
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains("bad.npz"));
  }
  SECTION("truncated zip file") {
    const bool deflate = GENERATE(false, true);
    WriteZip(path, e, deflate);
    const std::string bytes = ReadAll(path);
    for (size_t keep : {bytes.size() - 1, bytes.size() - 30, bytes.size() / 2, size_t{10}}) {
      WriteAll(path, bytes.substr(0, keep));
      auto s = LoadNpz(o);
      CHECK(s.status().code() == StatusCode::kDataLoss);
      CHECK_THAT(s.status().message(), Contains("bad.npz"));
    }
  }
  SECTION("corrupted member data fails the CRC check") {
    const std::string marker = "\xAB\xCD\xEF\x01\x23\x45\x67\x89\xAB\xCD\xEF\x01";
    e[0].second = Npy("|u1", {3, 2, 2}, marker);
    WriteZip(path, e);
    std::string bytes = ReadAll(path);
    const size_t at = bytes.find(marker);
    REQUIRE(at != std::string::npos);
    bytes[at + 5] ^= 0x10;
    WriteAll(path, bytes);
    auto s = LoadNpz(o);
    CHECK(s.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(s.status().message(), Contains("train_images.npy"));
  }
}

TEST_CASE("npz: random corruption of an archive never crashes", "[data][npz]") {
  TempDir dir;
  const std::string path = dir.File("fuzz.npz");
  const bool deflate = GENERATE(false, true);
  WriteZip(path, SmallArchive(), deflate);
  const std::string good = ReadAll(path);
  std::mt19937 gen(deflate ? 2 : 1);  // only drives the fuzzing, not the code under test
  NpzOptions o;
  o.path = path;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(gen() % 4);
    for (int k = 0; k < flips; ++k) bytes[gen() % bytes.size()] = static_cast<char>(gen());
    WriteAll(path, bytes);
    auto s = LoadNpz(o);  // any Status is fine; it must simply not crash
    if (s.ok()) {
      for (const fl::data::Dataset* d : {&s->train, &s->test}) {
        REQUIRE(d->features.size() == d->size() * static_cast<size_t>(d->SampleNumel()));
        for (int64_t y : d->labels) REQUIRE((y >= 0 && y < d->num_classes));
      }
    }
  }
}

// ---- Real MedMNIST files -----------------------------------------------------------------

TEST_CASE("npz: real PneumoniaMNIST shapes", "[data][npz]") {
  const std::string path = std::string(FL_SHARED_DATA_DIR) + "/pneumoniamnist/pneumoniamnist.npz";
  if (!fs::exists(path)) {
    WARN("skipped: missing " << path);
    return;
  }
  NpzOptions o;
  o.path = path;
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.size() == 4708);
  CHECK(s->test.size() == 624);
  CHECK(s->train.sample_shape == std::vector<int64_t>{1, 28, 28});
  CHECK(s->train.features.size() == 4708u * 784u);
  CHECK(s->train.num_classes == 2);
  float lo = 1.0f, hi = 0.0f;
  for (float v : s->train.features) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= 0.0f);
  CHECK(hi == 1.0f);

  o.partition.weights = {1, 1, 2};
  o.partition.index = 2;
  o.max_test = 100;
  auto site = LoadNpz(o);
  REQUIRE(site.ok());
  CHECK(site->train.size() == 2354);  // 4708 / 2
  CHECK(site->test.size() == 100);
  CHECK(site->train.num_classes == 2);
}

TEST_CASE("npz: real BreastMNIST with 1-D labels", "[data][npz]") {
  const std::string path = std::string(FL_SHARED_DATA_DIR) + "/breastmnist/breastmnist.npz";
  if (!fs::exists(path)) {
    WARN("skipped: missing " << path);
    return;
  }
  NpzOptions o;
  o.path = path;
  o.test_prefix = "val";
  auto s = LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.size() == 546);
  CHECK(s->test.size() == 78);
  CHECK(s->train.sample_shape == std::vector<int64_t>{1, 28, 28});
  CHECK(s->train.num_classes == 2);
}
