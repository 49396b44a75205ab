// Regression tests for what the fuzz targets found (tests/fuzz/README.md); the inputs
// themselves are replayed from tests/fuzz/findings/<target>/ by ctest fuzz/replay_<target>.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include "data/image_ops.h"
#include "data/nifti.h"
#include "data/npz_loader.h"
#include "data/segmentation_data.h"
#include "fl/fixed_point.h"
#include "fl/safetensors.h"
#include "fl/wire.h"
#include "temp_dir.h"

using namespace fl;

TEST_CASE("fuzz finding (wire): an empty payload of zero expected elements reads as empty") {
  // memcpy into the null data() of an empty vector was undefined behaviour.
  StatusOr<std::vector<float>> f = ReadFloatFrame(Frame(), 0, "payload");
  REQUIRE(f.ok());
  CHECK(f->empty());
  StatusOr<RingVector> r = ReadRingFrame(Frame(), 0, "payload");
  REQUIRE(r.ok());
  CHECK(r->size() == 0);
}

TEST_CASE("fuzz finding (safetensors): a header that is not an object is refused, an empty one decodes") {
  auto file = [](const std::string& header) {
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    return bytes + header;
  };
  // An array header passed as a checkpoint with no tensors (memcpy to null), and an array of
  // tensor entries would have passed as tensors named "0", "1", ...
  StatusOr<Checkpoint> array = DecodeSafetensors(file("[]"), "a.safetensors");
  REQUIRE_FALSE(array.ok());
  CHECK_THAT(array.status().message(), Catch::Contains("not a JSON object"));
  CHECK_FALSE(DecodeSafetensors(file(R"([{"dtype":"F32","shape":[],"data_offsets":[0,4]}])") + std::string(4, '\0'),
                                "a.safetensors")
                  .ok());
  StatusOr<Checkpoint> empty = DecodeSafetensors(file("{}"), "a.safetensors");
  REQUIRE(empty.ok());
  CHECK(empty->values.empty());
  CHECK_FALSE(empty->layout.Validate(100).ok());  // the readers refuse a model without tensors
}

TEST_CASE("fuzz finding (npy): an empty array with huge other dimensions has no elements") {
  // numel() multiplied 2^40 * 2^40 before it reached the 0 (signed overflow).
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 0), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
                     static_cast<char>(header.size() >> 8) + header;
  StatusOr<data::NpyArray> a = data::ParseNpy(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "a.npy");
  REQUIRE(a.ok());
  CHECK(a->numel() == 0);
  CHECK(a->data.empty());
  data::NpyArray big;
  big.shape = {int64_t{1} << 40, int64_t{1} << 40};
  CHECK(big.numel() == std::numeric_limits<int64_t>::max());  // saturates instead of wrapping
}

TEST_CASE("fuzz finding (nifti): a one-voxel volume of 1.9 m voxels is not resampled to gigabytes") {
  // A 353-byte NIfTI made PrepareVolume allocate 6 GB (1267^3 voxels at 1.5 mm).
  testing::TempDir t;
  data::Volume v;
  v.dims = {1, 1, 1};
  v.spacing = {1900, 1900, 1900};
  v.geometry.pixdim = {1, 1900, 1900, 1900, 1, 1, 1, 1};
  v.data = {1.0f};
  REQUIRE(data::WriteNifti(t.File("v.nii"), v, data::NiftiDtype::kUint8).ok());
  data::NiftiOptions o;
  o.spacing = {1.5, 1.5, 1.5};
  StatusOr<data::PreparedVolume> p = data::PrepareVolume(o, t.File("v.nii"));
  REQUIRE_FALSE(p.ok());
  CHECK_THAT(p.status().message(), Catch::Contains("above 2^28"));
  o.spacing = {100, 100, 100};  // 19^3 voxels: fine
  p = data::PrepareVolume(o, t.File("v.nii"));
  REQUIRE(p.ok());
  CHECK(p->prepared.dims == std::array<int64_t, 3>{19, 19, 19});
}

TEST_CASE("fuzz finding (image): a tiny header claiming a huge image is refused before decoding") {
  // stb_image zero-fills what a truncated BMP or JPEG lacks: this 54-byte BMP "of 16000 x
  // 16000" decoded to 768 MB of zeros in 8 s.
  testing::TempDir t;
  auto bmp = [](int32_t w, int32_t h, size_t pixel_bytes) {
    std::string b = "BM";
    auto u32 = [&b](uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>(v >> (8 * i))); };
    auto u16 = [&b](uint16_t v) { for (int i = 0; i < 2; ++i) b.push_back(static_cast<char>(v >> (8 * i))); };
    u32(static_cast<uint32_t>(54 + pixel_bytes)); u32(0); u32(54);
    u32(40); u32(static_cast<uint32_t>(w)); u32(static_cast<uint32_t>(h)); u16(1); u16(24);
    u32(0); u32(0); u32(2835); u32(2835); u32(0); u32(0);
    return b + std::string(pixel_bytes, '\x7f');
  };
  StatusOr<data::Image8> big = data::ReadImage(t.Write("big.bmp", bmp(16000, 16000, 0)));
  REQUIRE_FALSE(big.ok());
  CHECK(big.status().code() == StatusCode::kDataLoss);
  CHECK_THAT(big.status().message(), Catch::Contains("truncated or corrupt"));
  // A complete small image still reads.
  StatusOr<data::Image8> small = data::ReadImage(t.Write("small.bmp", bmp(4, 2, 2 * 12)));
  REQUIRE(small.ok());
  CHECK(small->h == 2);
  CHECK(small->w == 4);
  CHECK(small->hwc[0] == 0x7f);
}

TEST_CASE("fuzz finding (npz): an array of no images of 2^40 x 2^40 pixels is refused") {
  // (0, 2^40, 2^40) is a valid empty array; its height times width overflowed.
  testing::TempDir t;
  data::NpyArray images;
  images.dtype = "|u1";
  images.shape = {0, int64_t{1} << 40, int64_t{1} << 40};
  data::NpyArray labels;
  labels.dtype = "|u1";
  labels.shape = {0};
  const std::string path = t.File("empty.npz");
  REQUIRE(data::WriteNpz(path, {{"train_images", images}, {"train_labels", labels},
                                {"test_images", images}, {"test_labels", labels}}).ok());
  data::NpzOptions o;
  o.path = path;
  StatusOr<data::Split> s = data::LoadNpz(o);
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.status().message(), Catch::Contains("too large"));
}

TEST_CASE("fuzz finding (wire): a round's clip so small that the scale is infinite is refused") {
  // A coordinator's ROUND_START with clip 1e-300 passed Validate (the scale was infinite,
  // not below 1) and a worker's encoding then converted infinity to an integer.
  FixedPointParams p;
  p.clip = 1e-300;
  CHECK_FALSE(p.Validate().ok());
  const float x[2] = {0.5f, -0.25f};
  RingVector out;
  CHECK_FALSE(EncodeWeighted(x, 2, 1, p, &out).ok());
  p.clip = 1e-6;  // the smallest clip a coordinator config accepts
  REQUIRE(p.Validate().ok());
  REQUIRE(EncodeWeighted(x, 2, 1, p, &out).ok());
}
