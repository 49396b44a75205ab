// Fuzz target: a NIfTI-1 volume as a worker reads it (nifticlib reads by path, so the input
// is written to a scratch file). The first byte chooses: bit 0 the name (.nii.gz: read
// through zlib, else .nii), bit 1 also prepare it for training (resample, crop, z-score),
// bit 2 read the file as an id list instead.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data/nifti.h"
#include "data/segmentation_data.h"
#include "fuzz_files.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using namespace fl::data;
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (flags & 4) {
    StatusOr<std::vector<std::string>> ids = ReadIdList(fuzz::WriteScratch("ids.txt", bytes));
    if (ids.ok()) FUZZ_CHECK(!ids->empty());
    return 0;
  }
  const std::string path = fuzz::WriteScratch((flags & 1) ? "v.nii.gz" : "v.nii", bytes);
  StatusOr<Volume> v = ReadNifti(path);
  if (!v.ok()) return 0;
  FUZZ_CHECK(CheckVolume(*v, "fuzz volume").ok());
  (void)DimsString(v->dims);
  StatusOr<Volume> label = ReadNiftiLabel(path, *v);
  if (label.ok()) FUZZ_CHECK(label->dims == v->dims && label->data.size() == v->data.size());
  if (flags & 2) {
    NiftiOptions o;
    o.dir = fuzz::ScratchDir();
    o.spacing = {1.5, 1.5, 2.0};
    o.crop = {8, 8, 4};
    o.zscore = (flags & 8) != 0;
    StatusOr<PreparedVolume> p = PrepareVolume(o, path);
    if (p.ok()) {
      FUZZ_CHECK(CheckVolume(p->prepared, "prepared").ok());
      Volume mask = p->prepared;
      for (float& x : mask.data) x = x > 0 ? 1.0f : 0.0f;
      StatusOr<Volume> back = RestoreMask(o, *p, mask);
      if (back.ok()) FUZZ_CHECK(back->dims == p->original.dims);
    }
  }
  return 0;
}
