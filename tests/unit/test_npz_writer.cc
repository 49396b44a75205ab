// Tests for worker/data's .npy encoder and .npz writer (EncodeNpy, WriteNpz, TakeRows), which
// fl-prep uses to write one MedMNIST archive per hospital.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "data/npz_loader.h"

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::EncodeNpy;
using fl::data::NpyArray;
using fl::data::ParseNpy;
using fl::data::ReadNpz;
using fl::data::TakeRows;
using fl::data::WriteNpz;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_npz_writer_test_") {}
};

// `n` bytes start, start + 1, ... (mod 256).
std::vector<uint8_t> Ramp(size_t n, int start = 0) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((start + i) % 256);
  return out;
}

NpyArray Array(const std::string& dtype, std::vector<int64_t> shape, std::vector<uint8_t> data) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data = std::move(data);
  return a;
}

std::vector<uint8_t> FloatBytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());  // x86/ARM little-endian, as '<f4'
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The files in a folder (names only).
std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The header text of an encoded .npy (between the length field and the data).
std::string HeaderText(const std::vector<uint8_t>& npy) {
  REQUIRE(npy.size() >= 10);
  const size_t len = npy[8] | (static_cast<size_t>(npy[9]) << 8);
  REQUIRE(npy.size() >= 10 + len);
  return std::string(npy.begin() + 10, npy.begin() + 10 + static_cast<std::ptrdiff_t>(len));
}

void CheckSame(const NpyArray& got, const NpyArray& want) {
  CHECK(got.dtype == want.dtype);
  CHECK(got.shape == want.shape);
  CHECK(got.data == want.data);
}

}  // namespace

// ---- EncodeNpy ---------------------------------------------------------------------------

TEST_CASE("npz writer: EncodeNpy writes a numpy 1.0 header padded to 64 bytes", "[data][npz_writer]") {
  struct Case {
    NpyArray a;
    std::string dict;
  };
  const std::vector<Case> cases = {
      {Array("|u1", {3, 2, 2}, Ramp(12)), "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }"},
      {Array("<i8", {5}, Ramp(40)), "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }"},
      {Array("|u1", {4, 1}, Ramp(4)), "{'descr': '|u1', 'fortran_order': False, 'shape': (4, 1), }"},
      {Array("<f4", {2, 3}, FloatBytes({1, 2, 3, 4, 5, 6})),
       "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"},
      {Array("<f8", {}, Ramp(8)), "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"},
      {Array("|u1", {0, 28, 28}, {}), "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 28, 28), }"},
      // A long shape: the header needs more than one 64-byte block.
      {Array("|u1", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {7}),
       "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
       "1, 1), }"},
  };
  for (const Case& c : cases) {
    INFO(c.dict);
    auto npy = EncodeNpy(c.a);
    REQUIRE(npy.ok());
    const std::vector<uint8_t>& b = *npy;
    REQUIRE(b.size() > 10);
    CHECK(b[0] == 0x93);
    CHECK(std::string(b.begin() + 1, b.begin() + 6) == "NUMPY");
    CHECK(b[6] == 1);  // version 1.0
    CHECK(b[7] == 0);
    const std::string header = HeaderText(b);
    const size_t data_start = 10 + header.size();
    CHECK(data_start % 64 == 0);
    CHECK(header.back() == '\n');
    // The dict, then spaces only, then the newline.
    REQUIRE(header.size() >= c.dict.size() + 1);
    CHECK(header.substr(0, c.dict.size()) == c.dict);
    CHECK(header.find_first_not_of(' ', c.dict.size()) == header.size() - 1);
    // Padding is minimal: fewer than 64 spaces.
    CHECK(header.size() - c.dict.size() - 1 < 64);
    // The data follows verbatim.
    CHECK(std::vector<uint8_t>(b.begin() + static_cast<std::ptrdiff_t>(data_start), b.end()) == c.a.data);
    // And the parser reads it back.
    auto back = ParseNpy(b.data(), b.size(), "encoded");
    REQUIRE(back.ok());
    CheckSame(*back, c.a);
  }
}

TEST_CASE("npz writer: EncodeNpy rejects data that does not match the shape", "[data][npz_writer]") {
  auto too_short = EncodeNpy(Array("|u1", {3, 2}, Ramp(5)));
  REQUIRE_FALSE(too_short.ok());
  CHECK(too_short.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(too_short.status().message(), Contains("(3, 2)") && Contains("5 bytes"));
  auto too_long = EncodeNpy(Array("<i4", {2}, Ramp(9)));
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().code() == StatusCode::kInvalidArgument);
  CHECK(EncodeNpy(Array("<i4", {2}, Ramp(8))).ok());
  CHECK(EncodeNpy(Array("|u1", {2, -1}, {})).status().code() == StatusCode::kInvalidArgument);
  CHECK(EncodeNpy(Array("|O", {1}, Ramp(8))).status().code() == StatusCode::kInvalidArgument);
  CHECK(EncodeNpy(Array(">i4", {1}, Ramp(4))).status().code() == StatusCode::kInvalidArgument);
}

// ---- WriteNpz ----------------------------------------------------------------------------

TEST_CASE("npz writer: WriteNpz round trip through ReadNpz", "[data][npz_writer]") {
  TempDir dir;
  const std::string path = dir.File("site.npz");
  const std::map<std::string, NpyArray> arrays = {
      {"train_images", Array("|u1", {5, 3, 4}, Ramp(60, 7))},
      {"train_labels", Array("|u1", {5, 1}, {0, 1, 1, 0, 2})},
      {"val_labels", Array("<i8", {3}, Ramp(24, 200))},
      {"weights", Array("<f4", {2, 2}, FloatBytes({0.5f, -1.25f, 3e10f, 1e-20f}))},
      {"empty", Array("|u1", {0, 3, 4}, {})},
  };
  REQUIRE(WriteNpz(path, arrays).ok());
  CHECK(Listing(dir.path()) == std::vector<std::string>{"site.npz"});  // no .tmp left behind

  auto all = ReadNpz(path, {});
  REQUIRE(all.ok());
  REQUIRE(all->size() == arrays.size());
  for (const auto& [name, a] : arrays) {
    INFO(name);
    REQUIRE(all->count(name) == 1);
    CheckSame(all->at(name), a);
  }
  auto some = ReadNpz(path, {"train_labels"});
  REQUIRE(some.ok());
  CHECK(some->size() == 1);
  CHECK(some->at("train_labels").shape == std::vector<int64_t>{5, 1});

  // The archive is stored (uncompressed): the raw image bytes appear in the file.
  const std::string raw = ReadAll(path);
  const std::vector<uint8_t>& img = arrays.at("train_images").data;
  CHECK(raw.find(std::string(img.begin(), img.end())) != std::string::npos);
}

TEST_CASE("npz writer: LoadNpz reads a written MedMNIST-like archive", "[data][npz_writer]") {
  TempDir dir;
  const std::string path = dir.File("m.npz");
  REQUIRE(WriteNpz(path, {{"train_images", Array("|u1", {3, 2, 2}, Ramp(12, 10))},
                          {"train_labels", Array("|u1", {3}, {2, 0, 1})},
                          {"test_images", Array("|u1", {1, 2, 2}, Ramp(4, 250))},
                          {"test_labels", Array("<i8", {1, 1}, {1, 0, 0, 0, 0, 0, 0, 0})}})
              .ok());
  fl::data::NpzOptions o;
  o.path = path;
  auto s = fl::data::LoadNpz(o);
  REQUIRE(s.ok());
  CHECK(s->train.labels == std::vector<int64_t>{2, 0, 1});
  CHECK(s->test.labels == std::vector<int64_t>{1});
  CHECK(s->train.sample_shape == std::vector<int64_t>{1, 2, 2});
  REQUIRE(s->train.features.size() == 12);
  for (size_t i = 0; i < 12; ++i) CHECK(s->train.features[i] == Approx((10 + i) / 255.0));
  REQUIRE(s->test.features.size() == 4);
  CHECK(s->test.features[0] == Approx(250 / 255.0));
  CHECK(s->test.features[3] == Approx(253 / 255.0));
}

TEST_CASE("npz writer: a bad array fails WriteNpz and leaves no file behind", "[data][npz_writer]") {
  TempDir dir;
  const std::string path = dir.File("bad.npz");
  auto st = WriteNpz(path, {{"good", Array("|u1", {2}, {1, 2})}, {"train_images", Array("|u1", {2, 2}, Ramp(3))}});
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(st.message(), Contains(path) && Contains("train_images.npy"));
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path + ".tmp"));
  CHECK(Listing(dir.path()).empty());

  // An existing archive is left untouched by a failed write.
  REQUIRE(WriteNpz(path, {{"a", Array("|u1", {1}, {42})}}).ok());
  const std::string before = ReadAll(path);
  REQUIRE_FALSE(WriteNpz(path, {{"a", Array("|u1", {4}, {1})}}).ok());
  CHECK(ReadAll(path) == before);
  CHECK(Listing(dir.path()) == std::vector<std::string>{"bad.npz"});

  // An unwritable place: an error, and nothing created.
  const std::string nowhere = dir.File("no-such-dir/x.npz");
  auto st2 = WriteNpz(nowhere, {{"a", Array("|u1", {1}, {1})}});
  CHECK_FALSE(st2.ok());
  CHECK_FALSE(fs::exists(dir.File("no-such-dir")));
}

TEST_CASE("npz writer: writing over an existing archive replaces it", "[data][npz_writer]") {
  TempDir dir;
  const std::string path = dir.File("x.npz");
  REQUIRE(WriteNpz(path, {{"old", Array("|u1", {4}, {1, 2, 3, 4})}, {"keep", Array("|u1", {1}, {9})}}).ok());
  // A stale temporary file from an interrupted run does not get in the way.
  std::ofstream(path + ".tmp") << "garbage";
  REQUIRE(WriteNpz(path, {{"new", Array("<i8", {2}, Ramp(16))}}).ok());
  auto all = ReadNpz(path, {});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);  // the old members are gone, not merged
  CHECK(all->count("new") == 1);
  CHECK(all->at("new").data == Ramp(16));
  CHECK(Listing(dir.path()) == std::vector<std::string>{"x.npz"});
}

TEST_CASE("npz writer: numpy.load reads a written archive", "[data][npz_writer]") {
  if (!fs::exists("/usr/bin/python3") || std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
    WARN("skipped: /usr/bin/python3 with numpy is not available");
    return;
  }
  TempDir dir;
  const std::string path = dir.File("np.npz");
  REQUIRE(WriteNpz(path, {{"train_images", Array("|u1", {2, 3, 4}, Ramp(24, 5))},
                          {"train_labels", Array("<i8", {2, 1}, {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
                          {"f", Array("<f4", {3}, FloatBytes({0.5f, -2.0f, 8.25f}))}})
              .ok());
  const std::string script = dir.File("check.py");
  std::ofstream(script) << "import sys, numpy as np\n"
                           "z = np.load(sys.argv[1])\n"
                           "assert sorted(z.files) == ['f', 'train_images', 'train_labels'], z.files\n"
                           "a = z['train_images']\n"
                           "assert a.dtype == np.uint8 and a.shape == (2, 3, 4), (a.dtype, a.shape)\n"
                           "assert (a.ravel() == (np.arange(24) + 5)).all()\n"
                           "l = z['train_labels']\n"
                           "assert l.dtype == np.int64 and l.shape == (2, 1) and l.tolist() == [[1], [0]]\n"
                           "f = z['f']\n"
                           "assert f.dtype == np.float32 and f.tolist() == [0.5, -2.0, 8.25]\n";
  const std::string cmd = "/usr/bin/python3 " + script + " " + path;
  CHECK(std::system(cmd.c_str()) == 0);
}

// ---- TakeRows ----------------------------------------------------------------------------

TEST_CASE("npz writer: TakeRows copies rows in the given order", "[data][npz_writer]") {
  const NpyArray img = Array("|u1", {4, 2, 3}, Ramp(24));  // row r = bytes 6r .. 6r+5
  auto t = TakeRows(img, {3, 0, 3, 1});
  REQUIRE(t.ok());
  CHECK(t->dtype == "|u1");
  CHECK(t->shape == std::vector<int64_t>{4, 2, 3});
  std::vector<uint8_t> want;
  for (int r : {3, 0, 3, 1}) {
    for (int k = 0; k < 6; ++k) want.push_back(static_cast<uint8_t>(6 * r + k));
  }
  CHECK(t->data == want);

  auto none = TakeRows(img, {});
  REQUIRE(none.ok());
  CHECK(none->shape == std::vector<int64_t>{0, 2, 3});
  CHECK(none->data.empty());

  // 1-D int64 and (N, 1) labels: rows of 8 bytes and of 1 byte.
  const NpyArray lab8 = Array("<i8", {3}, Ramp(24));
  auto l8 = TakeRows(lab8, {2, 1});
  REQUIRE(l8.ok());
  CHECK(l8->shape == std::vector<int64_t>{2});
  CHECK(l8->data == std::vector<uint8_t>{16, 17, 18, 19, 20, 21, 22, 23, 8, 9, 10, 11, 12, 13, 14, 15});
  auto col = TakeRows(Array("|u1", {3, 1}, {7, 8, 9}), {1});
  REQUIRE(col.ok());
  CHECK(col->shape == std::vector<int64_t>{1, 1});
  CHECK(col->data == std::vector<uint8_t>{8});

  // The result encodes (its data matches its shape).
  CHECK(EncodeNpy(*t).ok());
}

TEST_CASE("npz writer: TakeRows errors", "[data][npz_writer]") {
  const NpyArray img = Array("|u1", {4, 2}, Ramp(8));
  auto out = TakeRows(img, {0, 4});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(out.status().message(), Contains("4") && Contains("out of range"));
  auto scalar = TakeRows(Array("<f8", {}, Ramp(8)), {0});
  REQUIRE_FALSE(scalar.ok());
  CHECK(scalar.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(scalar.status().message(), Contains("0-d"));
  auto empty = TakeRows(Array("|u1", {0, 3}, {}), {0});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
}
