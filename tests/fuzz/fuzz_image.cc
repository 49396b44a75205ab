// Fuzz target: image files of an image-folder dataset (stb reads them; ReadImage takes a
// path, so the input is written to scratch files). Input: one byte of flags, one chunk of
// file names (newline-separated), then the image bytes.
//   flags % 5: the channels asked of ReadImage (0 = as stored)
//   flags & 8: also load a whole folder: every name becomes an image and a mask (the same
//              bytes; names with '/' or that start with '.' are dropped), and the names'
//              stems, every other one, are requested by name (ImageFolderOptions::names)
//   flags & 16: resize to 5 x 7 on loading; flags & 32: z-score
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "data/image_folder.h"
#include "data/image_ops.h"
#include "fuzz_files.h"
#include "fuzz_input.h"

namespace {


std::vector<std::string> Names(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && out.size() < 4) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string name = text.substr(start, end - start);
    if (!name.empty() && name.size() < 100 && name.find('/') == std::string::npos &&
        name.find('\0') == std::string::npos && name[0] != '.') {
      out.push_back(name);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  using namespace fl::data;
  fuzz::Input in(data, size);
  const uint8_t flags = in.U8();
  const std::vector<std::string> names = Names(in.Chunk());
  const std::string bytes = in.Rest();
  const int channels = flags % 5;

  for (const std::string& n : names) {
    const std::string stem = ImageStem(n);
    FUZZ_CHECK(stem.size() <= n.size() && n.compare(0, stem.size(), stem) == 0);
  }
  const std::string path = fuzz::WriteScratch("image.png", bytes);
  StatusOr<Image8> img = ReadImage(path, channels);
  if (img.ok()) {
    FUZZ_CHECK(img->h >= 1 && img->w >= 1 && img->c >= 1 && img->c <= 4);
    FUZZ_CHECK(img->hwc.size() == static_cast<size_t>(img->h * img->w * img->c));
    if (channels) FUZZ_CHECK(img->c == channels);
    const bool small = img->h * img->w <= (1 << 20);  // the copies below only of small images (time)
    if (small && (img->c == 1 || img->c == 3)) {
      ImageFolderOptions o;
      o.channels = static_cast<int>(img->c);
      o.normalize = (flags & 32) != 0;
      std::vector<float> f = ImageFeatures(*img, o, 3, 4);
      FUZZ_CHECK(f.size() == static_cast<size_t>(img->c * 12));
      if (img->h * img->w <= (1 << 16)) {  // full-size copies only of smaller ones (memory)
        std::vector<float> same = ImageFeatures(*img, o, img->h, img->w);
        FUZZ_CHECK(same.size() == img->hwc.size());
        FUZZ_CHECK(CropOrPad2D(same, img->c, img->h, img->w, 6, 2, 0.0f).size() == static_cast<size_t>(img->c * 12));
      }
    }
    if (small && img->c == 1) {
      FUZZ_CHECK(ResizeNearest(img->hwc, img->h, img->w, 2, 9).size() == 18);
      FUZZ_CHECK(CropOrPad2D(img->hwc, img->h, img->w, 3, 3, uint8_t{0}).size() == 9);
    }
  }
  if ((flags & 8) && !names.empty()) {
    const std::string root = fuzz::FreshScratchSubdir("folder");
    namespace fs = std::filesystem;
    fs::create_directories(root + "/images");
    fs::create_directories(root + "/masks");
    for (const std::string& n : names) {
      fuzz::WriteScratch("folder/images/" + n, bytes);
      fuzz::WriteScratch("folder/masks/" + n, bytes);
    }
    ImageFolderOptions o;
    o.path = root;
    o.channels = (flags & 1) ? 1 : 3;
    if (flags & 16) o.height = 5, o.width = 7;
    o.normalize = (flags & 32) != 0;
    if (flags & 64) {
      for (size_t i = 0; i < names.size(); i += 2) o.names.push_back(ImageStem(names[i]));
    }
    StatusOr<std::vector<std::string>> listed = ListImages(root + "/images");
    FUZZ_CHECK(listed.ok());
    StatusOr<Dataset> d = LoadImageFolder(o);
    if (d.ok()) {
      FUZZ_CHECK(d->size() >= 1 && d->size() <= names.size());
      FUZZ_CHECK(d->features.size() == d->size() * static_cast<size_t>(d->SampleNumel()));
      FUZZ_CHECK(d->masks.size() == d->size() * static_cast<size_t>(d->MaskNumel()));
    }
  }
  return 0;
}
