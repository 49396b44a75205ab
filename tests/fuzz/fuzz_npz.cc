// Fuzz target: a MedMNIST-style .npz archive as a worker loads it (libzip reads by path, so
// the input is written to a scratch file): ReadNpz of every member, then LoadNpz with options
// chosen by the first input byte.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data/npy_util.h"
#include "data/npz_loader.h"
#include "fuzz_files.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using namespace fl::data;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string path =
      fuzz::WriteScratch("fuzz.npz", std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  StatusOr<std::map<std::string, NpyArray>> all = ReadNpz(path, {});
  if (all.ok()) {
    for (const auto& [name, a] : *all) {
      StatusOr<data::internal::NpyDtype> t = data::internal::ParseNpyDtype(a.dtype, name);
      FUZZ_CHECK(t.ok() && static_cast<uint64_t>(a.numel()) * t->itemsize == a.data.size());
    }
  }
  (void)ReadNpz(path, {"train_images", "train_labels"});
  NpzOptions o;
  o.path = path;
  if (flags & 1) o.num_classes = 3 + (flags >> 4);
  if (flags & 2) {
    o.partition.weights = {1, 2};
    o.partition.index = (flags >> 2) & 1;
    o.partition.seed = 5;
    if (flags & 8) o.partition.dirichlet_alpha = 0.5;
  }
  if (flags & 4) o.max_train = o.max_test = 2;
  StatusOr<Split> split = LoadNpz(o);
  if (split.ok()) {
    for (const Dataset* d : {&split->train, &split->test}) {
      int64_t per = 1;
      for (int64_t s : d->sample_shape) per *= s;
      FUZZ_CHECK(d->features.size() == static_cast<size_t>(per) * d->labels.size());
      for (int64_t y : d->labels) {
        FUZZ_CHECK(y >= 0 && y < d->num_classes);
      }
    }
  }
  return 0;
}
