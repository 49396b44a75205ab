#include "data/image_folder.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "data/image_ops.h"
#include "fl/env.h"

namespace fl::data {
namespace {

namespace fs = std::filesystem;

bool HasImageExtension(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return false;
  std::string ext = name.substr(dot + 1);
  for (char& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp";
}

std::string SizeText(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }

// Sample i of the dataset: the image and mask files it is read from.
struct Pair {
  std::string image;  // full paths
  std::string mask;
};

// Everything the per-sample workers share. Each worker writes only its own sample's slots.
struct Job {
  const ImageFolderOptions* o = nullptr;
  const std::vector<Pair>* pairs = nullptr;
  int64_t h = 0, w = 0;     // output size
  bool keep_size = false;   // height = width = 0: every image must be h x w
  std::string first_image;  // for the size-mismatch message
  Dataset* out = nullptr;
};

Status LoadSample(const Job& job, size_t i) {
  const ImageFolderOptions& o = *job.o;
  const Pair& pair = (*job.pairs)[i];
  FL_ASSIGN_OR_RETURN(Image8 img, ReadImage(pair.image, o.channels));
  FL_ASSIGN_OR_RETURN(Image8 mask, ReadImage(pair.mask, 1));
  if (img.h != mask.h || img.w != mask.w) {
    return InvalidArgument("image '" + pair.image + "' is " + SizeText(img.h, img.w) + " but its mask '" +
                           pair.mask + "' is " + SizeText(mask.h, mask.w));
  }
  if (job.keep_size && (img.h != job.h || img.w != job.w)) {
    return InvalidArgument("image '" + pair.image + "' is " + SizeText(img.h, img.w) + " but '" + job.first_image +
                           "' (the first image) is " + SizeText(job.h, job.w) +
                           "; set height and width to resize them to one size");
  }
  const int64_t hw = img.h * img.w;
  std::vector<uint8_t> bin(static_cast<size_t>(hw));
  for (int64_t p = 0; p < hw; ++p) bin[static_cast<size_t>(p)] = mask.hwc[static_cast<size_t>(p)] > o.mask_threshold ? 1 : 0;
  std::vector<float> chw = ImageFeatures(img, o, job.h, job.w);
  if (img.h != job.h || img.w != job.w) bin = ResizeNearest(bin, img.h, img.w, job.h, job.w);
  if (chw.empty() || bin.empty()) return Internal("resizing '" + pair.image + "' failed");

  Dataset& d = *job.out;
  std::copy(chw.begin(), chw.end(), d.features.begin() + static_cast<ptrdiff_t>(i * chw.size()));
  std::copy(bin.begin(), bin.end(), d.masks.begin() + static_cast<ptrdiff_t>(i * bin.size()));
  d.labels[i] = std::any_of(bin.begin(), bin.end(), [](uint8_t v) { return v != 0; }) ? 1 : 0;
  return Status::Ok();
}

// Loads every sample on a few threads. Samples are claimed in increasing order from a shared
// counter and claiming stops at the first error, so every sample before a failing one is
// loaded and the smallest failing index is the one reported, whatever the thread count.
Status LoadAll(const Job& job) {
  const size_t n = job.pairs->size();
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  unsigned hc = std::thread::hardware_concurrency();
  const size_t threads = std::min<size_t>({hc == 0 ? 1 : hc, 8, n});
  std::vector<std::pair<size_t, Status>> first_error(threads, {n, Status::Ok()});

  auto work = [&](size_t t) {
    while (!failed.load()) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status s;
      try {
        s = LoadSample(job, i);
      } catch (const std::exception& e) {  // allocation failure
        s = Internal("loading '" + (*job.pairs)[i].image + "': " + e.what());
      }
      if (!s.ok()) {
        first_error[t] = {i, std::move(s)};
        failed.store(true);
        return;
      }
    }
  };

  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(work, t);
    } catch (const std::exception&) {
      break;  // no more threads: the others (and this one) do the rest
    }
  }
  work(0);
  for (std::thread& th : pool) th.join();

  auto worst = std::min_element(first_error.begin(), first_error.end(),
                                [](const auto& a, const auto& b) { return a.first < b.first; });
  return worst->first < n ? worst->second : Status::Ok();
}

StatusOr<Dataset> LoadImageFolderImpl(const ImageFolderOptions& o) {
  if (o.channels != 1 && o.channels != 3) {
    return InvalidArgument("image folder: channels must be 1 or 3, got " + std::to_string(o.channels));
  }
  if (o.mask_threshold < 0 || o.mask_threshold > 255) {
    return InvalidArgument("image folder: mask_threshold must be 0..255, got " + std::to_string(o.mask_threshold));
  }
  constexpr int64_t kMaxSide = 16384;
  if (o.height < 0 || o.width < 0 || o.height > kMaxSide || o.width > kMaxSide || (o.height == 0) != (o.width == 0)) {
    return InvalidArgument("image folder: height and width must both be 0 (keep) or both in 1.." +
                           std::to_string(kMaxSide) + ", got " + SizeText(o.height, o.width));
  }
  if (!Env::Default().IsDirectory(o.path)) return NotFound("image folder '" + o.path + "' does not exist");
  const std::string images_dir = (fs::path(o.path) / o.images_dir).string();
  const std::string masks_dir = (fs::path(o.path) / o.masks_dir).string();
  FL_ASSIGN_OR_RETURN(std::vector<std::string> images, ListImages(images_dir));
  if (images.empty()) return InvalidArgument("no images (.png .jpg .jpeg .bmp) in '" + images_dir + "'");
  FL_ASSIGN_OR_RETURN(std::vector<std::string> masks, ListImages(masks_dir));

  // Select the images, in the requested order.
  std::vector<std::string> selected;
  if (o.names.empty()) {
    selected = images;
  } else {
    const std::set<std::string> image_set(images.begin(), images.end());
    std::map<std::string, std::vector<std::string>> by_stem;
    for (const std::string& f : images) by_stem[ImageStem(f)].push_back(f);
    for (const std::string& name : o.names) {
      if (image_set.count(name)) {
        selected.push_back(name);
        continue;
      }
      auto it = by_stem.find(name);
      if (it == by_stem.end()) return NotFound("requested image '" + name + "' not found in '" + images_dir + "'");
      if (it->second.size() > 1) {
        return InvalidArgument("requested image '" + name + "' is ambiguous in '" + images_dir + "': '" +
                               it->second[0] + "' and '" + it->second[1] + "'");
      }
      selected.push_back(it->second[0]);
    }
  }

  // Pair each image with its mask: the same file name, else the same stem.
  const std::set<std::string> mask_set(masks.begin(), masks.end());
  std::map<std::string, std::string> mask_by_stem;
  for (const std::string& f : masks) mask_by_stem.emplace(ImageStem(f), f);  // keeps the first sorted
  std::vector<Pair> pairs;
  pairs.reserve(selected.size());
  for (const std::string& f : selected) {
    std::string mask;
    if (mask_set.count(f)) {
      mask = f;
    } else if (auto it = mask_by_stem.find(ImageStem(f)); it != mask_by_stem.end()) {
      mask = it->second;
    } else {
      return NotFound("no mask for image '" + f + "' in '" + masks_dir + "'");
    }
    pairs.push_back({(fs::path(images_dir) / f).string(), (fs::path(masks_dir) / mask).string()});
  }

  Job job;
  job.o = &o;
  job.pairs = &pairs;
  if (o.height > 0) {
    job.h = o.height;
    job.w = o.width;
  } else {
    FL_ASSIGN_OR_RETURN(Image8 first, ReadImage(pairs[0].image, o.channels));
    job.h = first.h;
    job.w = first.w;
    job.keep_size = true;
    job.first_image = pairs[0].image;
  }

  const size_t n = pairs.size();
  const size_t sample = static_cast<size_t>(o.channels * job.h * job.w);
  Dataset d;
  d.sample_shape = {o.channels, job.h, job.w};
  d.mask_shape = {job.h, job.w};
  d.num_classes = 2;
  d.features.assign(n * sample, 0.0f);
  d.masks.assign(n * static_cast<size_t>(job.h * job.w), 0);
  d.labels.assign(n, 0);
  d.cases.resize(n);
  for (size_t i = 0; i < n; ++i) d.cases[i] = static_cast<int32_t>(i);
  job.out = &d;
  FL_RETURN_IF_ERROR(LoadAll(job));
  return d;
}

}  // namespace

std::vector<float> ImageFeatures(const Image8& img, const ImageFolderOptions& o, int64_t h, int64_t w) {
  const int64_t c = img.c, hw = img.h * img.w;
  std::vector<float> chw(static_cast<size_t>(c * hw));
  for (int64_t ch = 0; ch < c; ++ch) {
    float* dst = chw.data() + ch * hw;
    const uint8_t* src = img.hwc.data() + ch;
    for (int64_t p = 0; p < hw; ++p) dst[p] = static_cast<float>(src[p * c]) * (1.0f / 255.0f);
  }
  if (img.h != h || img.w != w) chw = ResizeBilinear(chw, c, img.h, img.w, h, w);
  if (o.normalize && !chw.empty()) ZScoreChannels(chw, c, h * w);
  return chw;
}

std::string ImageStem(const std::string& file_name) {
  const size_t dot = file_name.rfind('.');
  return dot == std::string::npos || dot == 0 ? file_name : file_name.substr(0, dot);
}

StatusOr<std::vector<std::string>> ListImages(const std::string& dir) {
  Env& env = Env::Default();
  if (!env.FileExists(dir)) return NotFound("folder '" + dir + "' does not exist");
  if (!env.IsDirectory(dir)) return InvalidArgument("'" + dir + "' is not a folder");
  StatusOr<std::vector<std::string>> entries = env.ListDir(dir);
  if (!entries.ok()) return Internal("cannot list folder '" + dir + "': " + entries.status().message());
  std::vector<std::string> names;  // sorted, as ListDir's
  for (const std::string& name : *entries) {
    if (name.empty() || name[0] == '.' || !HasImageExtension(name)) continue;
    if (!env.FileSize((fs::path(dir) / name).string()).ok()) continue;  // regular files only; follows links
    names.push_back(name);
  }
  return names;
}

StatusOr<Dataset> LoadImageFolder(const ImageFolderOptions& o) {
  try {
    return LoadImageFolderImpl(o);
  } catch (const std::exception& e) {  // allocation failure for a huge folder or size
    return Internal("image folder '" + o.path + "': " + e.what());
  }
}

}  // namespace fl::data
