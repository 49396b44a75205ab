// Fuzz target: one .npy array (a member of a MedMNIST .npz, or a file fl-prep reads):
// ParseNpy, then the helpers that read its elements and take its rows.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using namespace fl::data;
  StatusOr<NpyArray> a = ParseNpy(data, size, "fuzz.npy");
  if (!a.ok()) return 0;
  StatusOr<data::internal::NpyDtype> t = data::internal::ParseNpyDtype(a->dtype, "fuzz.npy");
  FUZZ_CHECK(t.ok());
  FUZZ_CHECK(static_cast<uint64_t>(a->numel()) * t->itemsize == a->data.size());
  (void)data::internal::ShapeString(a->shape);
  if (t->kind != 'f') {
    int64_t v = 0;
    const size_t n = static_cast<size_t>(a->numel());
    for (size_t i = 0; i < n && i < 64; ++i) (void)data::internal::ReadIntegerElement(*a, *t, i, &v);
    if (n > 0) (void)data::internal::ReadIntegerElement(*a, *t, n - 1, &v);
  }
  // Encoding and parsing again gives the same array.
  StatusOr<std::vector<uint8_t>> encoded = EncodeNpy(*a);
  FUZZ_CHECK(encoded.ok());
  StatusOr<NpyArray> b = ParseNpy(encoded->data(), encoded->size(), "round trip");
  FUZZ_CHECK(b.ok() && b->shape == a->shape && b->data == a->data);
  if (!a->shape.empty()) {
    const size_t rows = static_cast<size_t>(a->shape[0]);
    std::vector<size_t> pick;
    if (rows > 0) pick = {rows - 1, 0, rows / 2};
    StatusOr<NpyArray> r = TakeRows(*a, pick);
    FUZZ_CHECK(r.ok() && r->shape[0] == static_cast<int64_t>(pick.size()));
    (void)TakeRows(*a, {rows});  // one past the end: refused
  } else {
    FUZZ_CHECK(!TakeRows(*a, {0}).ok());
  }
  return 0;
}
