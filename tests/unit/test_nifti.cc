// Tests for worker/data's NIfTI-1 reader and writer. Files are written by WriteNifti itself,
// by nifticlib directly (scaling, 4-D, other datatypes and units) and by hand (big-endian,
// corrupt headers).
#include <catch2/catch.hpp>

#include <nifti1_io.h>

#include "temp_dir.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "data/nifti.h"
#include "data/rng.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::NiftiDtype;
using fl::data::ReadNifti;
using fl::data::ReadNiftiLabel;
using fl::data::Volume;
using fl::data::WriteNifti;
using Catch::Matchers::Contains;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_nifti_test_") {}
};

// A volume of the given dims whose value at (x, y, z) is f(x, y, z), with an oblique
// qform and an sform so that geometry round trips are meaningful.
template <typename F>
Volume MakeVolume(int64_t nx, int64_t ny, int64_t nz, F f) {
  Volume v;
  v.dims = {nx, ny, nz};
  v.spacing = {1.5, 0.75, 2.0};
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) v.data.push_back(f(x, y, z));
  auto& g = v.geometry;
  g.pixdim = {-1, 1.5f, 0.75f, 2.0f, 1, 1, 1, 1};
  g.qfac = -1;
  g.qform_code = 1;
  g.sform_code = 2;
  g.quatern_b = 0.1f, g.quatern_c = -0.2f, g.quatern_d = 0.3f;
  g.qoffset_x = -10.5f, g.qoffset_y = 20.25f, g.qoffset_z = 3.0f;
  g.srow_x = {1.5f, 0.1f, 0, -10.5f};
  g.srow_y = {0, 0.75f, 0.2f, 20.25f};
  g.srow_z = {0.05f, 0, -2.0f, 3.0f};
  return v;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes a volume with nifticlib itself. dims as nifticlib wants them: {ndim, nx, ny, ...}.
void WriteWithNiftiLib(const std::string& path, std::vector<int> dims, int datatype,
                       const void* data, float slope = 0, float inter = 0,
                       int xyz_units = NIFTI_UNITS_MM, float pixdim1 = 1.0f) {
  dims.resize(8, 1);
  nifti_image* nim = nifti_make_new_nim(dims.data(), datatype, 1);
  REQUIRE(nim != nullptr);
  std::memcpy(nim->data, data, nim->nvox * nim->nbyper);
  nim->scl_slope = slope;
  nim->scl_inter = inter;
  nim->xyz_units = xyz_units;
  nim->dx = nim->pixdim[1] = pixdim1;
  REQUIRE(nifti_set_filenames(nim, path.c_str(), 0, 1) == 0);
  nifti_image_write(nim);
  nifti_image_free(nim);
  REQUIRE(fs::exists(path));
}

void CheckSameGeometry(const Volume& a, const Volume& b) {
  CHECK(a.geometry.qform_code == b.geometry.qform_code);
  CHECK(a.geometry.sform_code == b.geometry.sform_code);
  CHECK(a.geometry.qfac == b.geometry.qfac);
  CHECK(a.geometry.quatern_b == Approx(b.geometry.quatern_b).margin(1e-6));
  CHECK(a.geometry.quatern_c == Approx(b.geometry.quatern_c).margin(1e-6));
  CHECK(a.geometry.quatern_d == Approx(b.geometry.quatern_d).margin(1e-6));
  CHECK(a.geometry.qoffset_x == b.geometry.qoffset_x);
  CHECK(a.geometry.qoffset_y == b.geometry.qoffset_y);
  CHECK(a.geometry.qoffset_z == b.geometry.qoffset_z);
  CHECK(a.geometry.srow_x == b.geometry.srow_x);
  CHECK(a.geometry.srow_y == b.geometry.srow_y);
  CHECK(a.geometry.srow_z == b.geometry.srow_z);
  for (int i = 0; i < 4; ++i) CHECK(a.geometry.pixdim[i] == b.geometry.pixdim[i]);
}

}  // namespace

TEST_CASE("nifti: round trip uint8, int16 and float32, .nii and .nii.gz", "[data][nifti]") {
  TempDir dir;
  const Volume v = MakeVolume(5, 4, 3, [](int64_t x, int64_t y, int64_t z) {
    return static_cast<float>(x + 10 * y + 50 * z);  // 0..163 fits uint8
  });
  for (const char* name : {"u8.nii", "u8.nii.gz"}) {
    REQUIRE(WriteNifti(dir.File(name), v, NiftiDtype::kUint8).ok());
    auto r = ReadNifti(dir.File(name));
    REQUIRE(r.ok());
    CHECK(r->dims == v.dims);
    CHECK(r->spacing[0] == Approx(1.5));
    CHECK(r->spacing[1] == Approx(0.75));
    CHECK(r->spacing[2] == Approx(2.0));
    CHECK(r->data == v.data);
    CheckSameGeometry(*r, v);
  }

  Volume s = MakeVolume(7, 3, 2, [](int64_t x, int64_t y, int64_t z) {
    return static_cast<float>((x - 3) * 1000 + y * 7 - z * 11);  // negative and large
  });
  REQUIRE(WriteNifti(dir.File("s16.nii.gz"), s, NiftiDtype::kInt16).ok());
  auto r16 = ReadNifti(dir.File("s16.nii.gz"));
  REQUIRE(r16.ok());
  CHECK(r16->data == s.data);
  CheckSameGeometry(*r16, s);

  Volume f = MakeVolume(4, 4, 4, [](int64_t x, int64_t y, int64_t z) {
    return std::sin(0.3f * static_cast<float>(x)) * 1e3f + static_cast<float>(y) * 1e-4f - static_cast<float>(z) / 3.0f;
  });
  for (const char* name : {"f32.nii", "f32.nii.gz"}) {
    REQUIRE(WriteNifti(dir.File(name), f, NiftiDtype::kFloat32).ok());
    auto rf = ReadNifti(dir.File(name));
    REQUIRE(rf.ok());
    CHECK(rf->data == f.data);  // bit exact
    CheckSameGeometry(*rf, f);
  }
  // Spacings read back as the decimals written, not as their float approximations.
  Volume dec = f;
  dec.spacing = {0.6, 0.9, 2.2};
  REQUIRE(WriteNifti(dir.File("dec.nii"), dec, NiftiDtype::kFloat32).ok());
  auto rd = ReadNifti(dir.File("dec.nii"));
  REQUIRE(rd.ok());
  CHECK(rd->spacing == std::array<double, 3>{0.6, 0.9, 2.2});

  // No temporary files are left behind.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string().rfind(".tmp-", 0) == std::string::npos);
  }
}

TEST_CASE("nifti: writing rounds integers and refuses out-of-range values", "[data][nifti]") {
  TempDir dir;
  Volume v = MakeVolume(3, 1, 1, [](int64_t x, int64_t, int64_t) { return 0.5f + static_cast<float>(x); });
  v.data = {0.4f, 1.5f, 254.6f};
  REQUIRE(WriteNifti(dir.File("r.nii"), v, NiftiDtype::kUint8).ok());
  auto r = ReadNifti(dir.File("r.nii"));
  REQUIRE(r.ok());
  CHECK(r->data == std::vector<float>{0, 2, 255});

  v.data = {0, 255.6f, 1};
  auto st = WriteNifti(dir.File("bad.nii"), v, NiftiDtype::kUint8);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(st.message(), Contains("bad.nii") && Contains("255.6"));
  CHECK_FALSE(fs::exists(dir.File("bad.nii")));
  v.data = {-1, 0, 1};
  CHECK(WriteNifti(dir.File("bad.nii"), v, NiftiDtype::kUint8).code() == StatusCode::kInvalidArgument);
  v.data = {-32768.4f, 32767.4f, 0};
  CHECK(WriteNifti(dir.File("ok16.nii"), v, NiftiDtype::kInt16).ok());
  v.data = {40000, 0, 0};
  CHECK(WriteNifti(dir.File("bad16.nii"), v, NiftiDtype::kInt16).code() == StatusCode::kInvalidArgument);
  v.data = {NAN, 0, 0};
  CHECK(WriteNifti(dir.File("nan.nii"), v, NiftiDtype::kFloat32).code() == StatusCode::kInvalidArgument);

  v.data = {1, 2, 3};
  CHECK(WriteNifti(dir.File("x.img"), v, NiftiDtype::kUint8).code() == StatusCode::kInvalidArgument);
  v.data = {1, 2};
  CHECK(WriteNifti(dir.File("short.nii"), v, NiftiDtype::kUint8).code() == StatusCode::kInvalidArgument);
  v.data = {1, 2, 3};
  v.spacing[1] = 0;
  CHECK(WriteNifti(dir.File("sp.nii"), v, NiftiDtype::kUint8).code() == StatusCode::kInvalidArgument);
  v.spacing[1] = 1;
  CHECK(WriteNifti(dir.File("missing-dir/x.nii"), v, NiftiDtype::kUint8).code() == StatusCode::kInternal);
  // Overwriting an existing file replaces it.
  REQUIRE(WriteNifti(dir.File("r.nii"), v, NiftiDtype::kUint8).ok());
  CHECK(ReadNifti(dir.File("r.nii"))->data == std::vector<float>{1, 2, 3});
}

TEST_CASE("nifti: scl_slope and scl_inter are applied", "[data][nifti]") {
  TempDir dir;
  const std::vector<int16_t> raw = {0, 1000, -2000, 32767, -32768, 7, 8, 9};
  WriteWithNiftiLib(dir.File("scaled.nii.gz"), {3, 2, 2, 2}, DT_INT16, raw.data(), 0.001f, 2.0f);
  auto r = ReadNifti(dir.File("scaled.nii.gz"));
  REQUIRE(r.ok());
  REQUIRE(r->data.size() == raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    CHECK(r->data[i] == Approx(raw[i] * 0.001 + 2.0).epsilon(1e-6).margin(1e-6));
  }
  // slope 0 means unscaled, whatever the intercept.
  WriteWithNiftiLib(dir.File("unscaled.nii"), {3, 2, 2, 2}, DT_INT16, raw.data(), 0.0f, 5.0f);
  auto u = ReadNifti(dir.File("unscaled.nii"));
  REQUIRE(u.ok());
  for (size_t i = 0; i < raw.size(); ++i) CHECK(u->data[i] == raw[i]);
}

TEST_CASE("nifti: other datatypes, units, byte order and 4-D", "[data][nifti]") {
  TempDir dir;
  const std::vector<double> d64 = {0.5, -1.25, 3e10, 4, 5, 6, 7, 8};
  WriteWithNiftiLib(dir.File("f64.nii"), {3, 2, 2, 2}, DT_FLOAT64, d64.data());
  auto r64 = ReadNifti(dir.File("f64.nii"));
  REQUIRE(r64.ok());
  CHECK(r64->data[2] == Approx(3e10));
  CHECK(r64->data[1] == -1.25f);

  const std::vector<uint16_t> u16 = {0, 65535, 3, 4};
  WriteWithNiftiLib(dir.File("u16.nii"), {3, 2, 2, 1}, DT_UINT16, u16.data());
  auto ru = ReadNifti(dir.File("u16.nii"));
  REQUIRE(ru.ok());
  CHECK(ru->data == std::vector<float>{0, 65535, 3, 4});
  const std::vector<int8_t> i8 = {-128, 127, -1, 0};
  WriteWithNiftiLib(dir.File("i8.nii"), {3, 2, 2, 1}, DT_INT8, i8.data());
  CHECK(ReadNifti(dir.File("i8.nii"))->data == std::vector<float>{-128, 127, -1, 0});

  // Metres are converted to millimetres.
  WriteWithNiftiLib(dir.File("m.nii"), {3, 2, 2, 1}, DT_UINT16, u16.data(), 0, 0, NIFTI_UNITS_METER, 0.002f);
  auto rm = ReadNifti(dir.File("m.nii"));
  REQUIRE(rm.ok());
  CHECK(rm->spacing[0] == Approx(2.0));
  CHECK(rm->spacing[1] == Approx(1000.0));

  // 4-D with one time point is a 3-D volume; more time points are refused.
  WriteWithNiftiLib(dir.File("t1.nii"), {4, 2, 2, 1, 1}, DT_UINT16, u16.data());
  auto t1 = ReadNifti(dir.File("t1.nii"));
  REQUIRE(t1.ok());
  CHECK(t1->dims == std::array<int64_t, 3>{2, 2, 1});
  const std::vector<uint8_t> eight(8, 1);
  WriteWithNiftiLib(dir.File("t2.nii.gz"), {4, 2, 2, 1, 2}, DT_UINT8, eight.data());
  auto t2 = ReadNifti(dir.File("t2.nii.gz"));
  CHECK(t2.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(t2.status().message(), Contains("t2.nii.gz") && Contains("(2, 2, 1, 2)"));

  // Unsupported datatype.
  const std::vector<int64_t> i64 = {1, 2, 3, 4};
  WriteWithNiftiLib(dir.File("i64.nii"), {3, 2, 2, 1}, DT_INT64, i64.data());
  auto ri = ReadNifti(dir.File("i64.nii"));
  CHECK(ri.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(ri.status().message(), Contains("i64.nii") && Contains("INT64"));

  // A big-endian file written by hand.
  nifti_1_header h;
  std::memset(&h, 0, sizeof h);
  h.sizeof_hdr = 348;
  h.dim[0] = 3, h.dim[1] = 2, h.dim[2] = 1, h.dim[3] = 1;
  for (int i = 4; i < 8; ++i) h.dim[i] = 1;
  h.datatype = DT_INT16, h.bitpix = 16;
  for (float& p : h.pixdim) p = 1;
  h.pixdim[2] = 3;
  h.vox_offset = 352;
  h.xyzt_units = NIFTI_UNITS_MM;
  std::memcpy(h.magic, "n+1", 4);
  swap_nifti_header(&h, 1);
  std::string be(reinterpret_cast<const char*>(&h), sizeof h);
  be += std::string(4, '\0');
  be += std::string("\x01\x02\xff\xfe", 4);  // 0x0102 = 258, 0xfffe = -2
  WriteAll(dir.File("be.nii"), be);
  auto rb = ReadNifti(dir.File("be.nii"));
  REQUIRE(rb.ok());
  CHECK(rb->data == std::vector<float>{258, -2});
  CHECK(rb->spacing[1] == 3.0);
}

TEST_CASE("nifti: missing, garbage and truncated files are clean errors", "[data][nifti]") {
  TempDir dir;
  auto missing = ReadNifti(dir.File("nope.nii.gz"));
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK_THAT(missing.status().message(), Contains("nope.nii.gz"));

  WriteAll(dir.File("garbage.nii"), std::string(1000, 'x'));
  auto garbage = ReadNifti(dir.File("garbage.nii"));
  CHECK(garbage.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(garbage.status().message(), Contains("garbage.nii"));
  WriteAll(dir.File("empty.nii.gz"), "");
  CHECK(ReadNifti(dir.File("empty.nii.gz")).status().code() == StatusCode::kDataLoss);
  WriteAll(dir.File("notgz.nii.gz"), std::string(500, 'y'));
  CHECK(ReadNifti(dir.File("notgz.nii.gz")).status().code() == StatusCode::kDataLoss);

  // A volume large enough that the data span many deflate blocks.
  const Volume v = MakeVolume(40, 30, 20, [](int64_t x, int64_t y, int64_t z) {
    return static_cast<float>((x * 7 + y * 13 + z * 29) % 251);
  });
  REQUIRE(WriteNifti(dir.File("full.nii.gz"), v, NiftiDtype::kUint8).ok());
  REQUIRE(WriteNifti(dir.File("full.nii"), v, NiftiDtype::kUint8).ok());
  const std::string gz = ReadAll(dir.File("full.nii.gz"));
  const std::string raw = ReadAll(dir.File("full.nii"));
  for (size_t cut : {size_t{1}, size_t{4}, size_t{8}, size_t{100}, gz.size() / 2, gz.size() - 20}) {
    INFO("cut " << cut << " bytes of " << gz.size());
    WriteAll(dir.File("cut.nii.gz"), gz.substr(0, gz.size() - cut));
    auto r = ReadNifti(dir.File("cut.nii.gz"));
    CHECK(r.status().code() == StatusCode::kDataLoss);
    CHECK_THAT(r.status().message(), Contains("cut.nii.gz"));
  }
  // A flipped byte in the compressed data fails the CRC (or the inflate) check.
  std::string flipped = gz;
  flipped[gz.size() / 2] = static_cast<char>(flipped[gz.size() / 2] ^ 0x5a);
  WriteAll(dir.File("flip.nii.gz"), flipped);
  CHECK(ReadNifti(dir.File("flip.nii.gz")).status().code() == StatusCode::kDataLoss);
  for (size_t keep : {size_t{0}, size_t{100}, size_t{350}, raw.size() - 1}) {
    INFO("keep " << keep << " bytes of " << raw.size());
    WriteAll(dir.File("cut.nii"), raw.substr(0, keep));
    CHECK(ReadNifti(dir.File("cut.nii")).status().code() == StatusCode::kDataLoss);
  }
  // Invalid spacing in an otherwise valid header (pixdim[1] at byte 80). nifticlib itself
  // turns a zero into 1; a negative size reaches the reader's check.
  std::string bad = raw;
  const float negative = -2;
  std::memcpy(&bad[80], &negative, 4);
  WriteAll(dir.File("sp.nii"), bad);
  auto sp = ReadNifti(dir.File("sp.nii"));
  CHECK(sp.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(sp.status().message(), Contains("sp.nii") && Contains("spacing"));
  // A directory is not a file.
  CHECK_FALSE(ReadNifti(dir.path()).ok());
}

TEST_CASE("nifti: corrupted headers and data never crash the reader", "[data][nifti]") {
  TempDir dir;
  const Volume v = MakeVolume(6, 5, 4, [](int64_t x, int64_t y, int64_t z) { return static_cast<float>(x * y - z); });
  REQUIRE(WriteNifti(dir.File("src.nii"), v, NiftiDtype::kInt16).ok());
  REQUIRE(WriteNifti(dir.File("src.nii.gz"), v, NiftiDtype::kInt16).ok());
  fl::data::SplitMix64 rng(11);
  for (const char* name : {"src.nii", "src.nii.gz"}) {
    const std::string original = ReadAll(dir.File(name));
    const std::string out = dir.File(std::string("mut-") + name);
    const bool gz = std::string(name).size() > 8;
    for (int it = 0; it < 300; ++it) {
      std::string b = original;
      const size_t span = gz ? b.size() : 352;  // headers of .nii; anywhere in .nii.gz
      for (uint64_t k = 0, n = 1 + rng.Below(4); k < n; ++k) b[rng.Below(span)] = static_cast<char>(rng.Next());
      if (rng.Below(4) == 0) b.resize(rng.Below(b.size()));
      WriteAll(out, b);
      auto r = ReadNifti(out);  // any Status is fine; it must simply not crash
      if (r.ok()) {
        CHECK(r->data.size() == static_cast<size_t>(r->NumVoxels()));
      } else {
        CHECK(r.status().message().find("mut-") != std::string::npos);
      }
    }
  }
}

TEST_CASE("nifti: label volumes are checked against their image", "[data][nifti]") {
  TempDir dir;
  const Volume image = MakeVolume(4, 3, 2, [](int64_t x, int64_t, int64_t) { return 0.1f * static_cast<float>(x); });
  Volume label = MakeVolume(4, 3, 2, [](int64_t x, int64_t y, int64_t) { return static_cast<float>(x == 1 && y == 2 ? 2 : 0); });
  REQUIRE(WriteNifti(dir.File("label.nii.gz"), label, NiftiDtype::kUint8).ok());
  auto ok = ReadNiftiLabel(dir.File("label.nii.gz"), image);
  REQUIRE(ok.ok());
  CHECK(ok->data == label.data);

  // A label header with a (slightly) different pixdim still takes its image's spacing, so
  // image and label resample to the same grid.
  Volume rounded = label;
  rounded.spacing = {1.4, 0.8, 2.0};
  rounded.geometry.pixdim = {-1, 1.4f, 0.8f, 2.0f, 1, 1, 1, 1};
  REQUIRE(WriteNifti(dir.File("rounded.nii.gz"), rounded, NiftiDtype::kUint8).ok());
  REQUIRE(ReadNifti(dir.File("rounded.nii.gz"))->spacing[0] == Approx(1.4));
  auto on_grid = ReadNiftiLabel(dir.File("rounded.nii.gz"), image);
  REQUIRE(on_grid.ok());
  CHECK(on_grid->spacing == image.spacing);

  const Volume other = MakeVolume(4, 3, 3, [](int64_t, int64_t, int64_t) { return 0.0f; });
  auto mismatch = ReadNiftiLabel(dir.File("label.nii.gz"), other);
  CHECK(mismatch.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(mismatch.status().message(),
             Contains("label.nii.gz") && Contains("(4, 3, 2)") && Contains("(4, 3, 3)"));

  label.data[label.Index(3, 1, 1)] = 0.5f;
  REQUIRE(WriteNifti(dir.File("frac.nii"), label, NiftiDtype::kFloat32).ok());
  auto frac = ReadNiftiLabel(dir.File("frac.nii"), image);
  CHECK(frac.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(frac.status().message(), Contains("frac.nii") && Contains("0.5") && Contains("(3, 1, 1)"));

  label.data[label.Index(3, 1, 1)] = 300;
  REQUIRE(WriteNifti(dir.File("big.nii"), label, NiftiDtype::kInt16).ok());
  CHECK(ReadNiftiLabel(dir.File("big.nii"), image).status().code() == StatusCode::kInvalidArgument);
  label.data[label.Index(3, 1, 1)] = -1;
  REQUIRE(WriteNifti(dir.File("neg.nii"), label, NiftiDtype::kInt16).ok());
  CHECK(ReadNiftiLabel(dir.File("neg.nii"), image).status().code() == StatusCode::kInvalidArgument);
  CHECK(ReadNiftiLabel(dir.File("none.nii"), image).status().code() == StatusCode::kNotFound);
}

TEST_CASE("nifti: real left-atrium volume", "[data][nifti]") {
  const std::string root = std::string(FL_SHARED_DATA_DIR) + "/left_atrium";
  if (!fs::exists(root + "/volumes") || !fs::exists(root + "/train.list")) {
    WARN("skipped: missing " << root << "/volumes");
    return;
  }
  std::ifstream list(root + "/train.list");
  std::string id;
  std::getline(list, id);
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  REQUIRE_FALSE(id.empty());
  auto image = ReadNifti(root + "/volumes/" + id + "_image.nii.gz");
  REQUIRE(image.ok());
  for (int a = 0; a < 3; ++a) {
    CHECK(image->dims[a] >= 32);
    CHECK(image->dims[a] <= 256);
  }
  CHECK(image->spacing[0] == Approx(1.25).epsilon(1e-4));
  CHECK(image->spacing[1] == Approx(1.25).epsilon(1e-4));
  CHECK(image->spacing[2] == Approx(0.625).epsilon(1e-4));
  double sum = 0, ss = 0;
  size_t non_finite = 0;
  for (float x : image->data) {
    non_finite += !std::isfinite(x);
    sum += x;
    ss += static_cast<double>(x) * x;
  }
  CHECK(non_finite == 0);
  const double n = static_cast<double>(image->data.size());
  const double mean = sum / n, sd = std::sqrt(ss / n - mean * mean);
  // Z-scored intensities (scl_slope 0.001 applied): raw int16 would give a std in the
  // hundreds or thousands.
  CHECK(std::fabs(mean) < 3.0);
  CHECK(sd > 0.3);
  CHECK(sd < 3.0);

  auto label = ReadNiftiLabel(root + "/volumes/" + id + "_label.nii.gz", *image);
  REQUIRE(label.ok());
  size_t fg = 0, other = 0;
  for (float x : label->data) {
    other += x != 0.0f && x != 1.0f;
    fg += x != 0;
  }
  CHECK(other == 0);
  CHECK(fg > 1000);
  CHECK(fg < label->data.size() / 2);
}
