// Segmentation datasets from a folder of images and a folder of same-named masks, e.g.
//   kvasir/images/cju0qkwl35piu0993l0dewei2.jpg   kvasir/masks/cju0qkwl35piu0993l0dewei2.jpg
// Images and masks may be PNG, JPEG or BMP (decoded with stb_image, see data/image_ops.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_ops.h"
#include "fl/status.h"

namespace fl::data {

struct ImageFolderOptions {
  std::string path;                 // folder holding images_dir and masks_dir
  std::string images_dir = "images";
  std::string masks_dir = "masks";
  int channels = 3;                 // 1 = grayscale, 3 = RGB (images converted on load)
  int mask_threshold = 128;         // mask luminance > threshold -> class 1 (0..255)
  int64_t height = 0, width = 0;    // resize every image (bilinear) and mask (nearest) to this;
                                    // 0 = keep (all must then share one size); both or neither
  std::vector<std::string> names;   // optional: only these file names or stems, in this order
                                    // (else all images, sorted by file name)
  bool normalize = false;           // per-image, per-channel z-score after resizing (else [0,1])
};

// The image file names (not paths) in `dir` with an accepted extension (.png .jpg .jpeg .bmp,
// case-insensitive), sorted bytewise (so "10.jpg" comes before "2.jpg"). Regular files and
// links to them only; names starting with '.' are skipped. Errors: NotFound (no such
// directory), InvalidArgument (not a directory), Internal (cannot be listed).
StatusOr<std::vector<std::string>> ListImages(const std::string& dir);

// The model input made from a decoded image (read with o.channels channels): CHW planar in
// [0,1], resized to h x w (ResizeBilinear), z-scored per channel when o.normalize. Training
// data and prediction inputs both go through this. Empty if resizing fails.
std::vector<float> ImageFeatures(const Image8& img, const ImageFolderOptions& o, int64_t h, int64_t w);

// The file name without its last extension ("a.b.png" -> "a.b").
std::string ImageStem(const std::string& file_name);

// Loads images and masks into a segmentation Dataset:
//   sample_shape {channels, H, W}, features CHW planar in [0,1] (value / 255), or per-image
//   z-scored (normalize); mask_shape {H, W}, masks 0/1; labels[i] = 1 when mask i has any
//   foreground pixel, else 0; num_classes = 2; cases[i] = i (every image its own case).
//
// Matching: the mask of image "x.jpg" is masks_dir/"x.jpg" if it exists, else the mask with
// stem "x" and an accepted extension (the first in sorted order). Masks without an image are
// ignored. A requested name matches an image file name exactly, else an image stem.
// Masks are read as grey: colour masks are converted to luminance (77 R + 150 G + 29 B) >> 8
// before thresholding, which for black/white masks is the same as using any one channel.
// Images are resized with ResizeBilinear (area average beyond 2x downscaling) and masks with
// ResizeNearest after thresholding. Decoding runs on up to hardware_concurrency() threads
// (at most 8); the result does not depend on the thread count.
//
// Errors (the message names the offending file): NotFound (folder or images folder missing,
// an image without a mask, a requested name that does not exist), InvalidArgument (bad
// options, no images, a requested name matching several images, an image and its mask of
// different sizes, images of different sizes when height = width = 0), DataLoss (a file that
// is unreadable, truncated or not an image). Names and masks are all checked before any file
// is decoded; of several files that fail to decode or differ in size, the first in load order
// is reported.
StatusOr<Dataset> LoadImageFolder(const ImageFolderOptions& o);

}  // namespace fl::data
