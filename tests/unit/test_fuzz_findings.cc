// Regression tests for what the fuzz targets found (tests/fuzz/README.md); the inputs
// themselves are replayed from tests/fuzz/findings/<target>/ by ctest fuzz/replay_<target>.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include "data/npz_loader.h"
#include "fl/safetensors.h"
#include "fl/wire.h"

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
