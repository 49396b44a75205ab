// 2-D image utilities for the image-folder datasets: resampling, centred crop/pad,
// per-image normalisation, and PNG/JPEG/BMP reading and PNG writing (stb).
//
// Float images are planar CHW (channel-major, then rows, then columns), values typically in
// [0,1]; masks are uint8 HW. The resampling functions map pixel centres (align_corners =
// false): output pixel d of an axis of in -> out samples sits at source coordinate
// (d + 0.5) * in / out - 0.5.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl::data {

// Resizes a CHW float image to (out_h, out_w), separably (rows, then columns), choosing the
// filter per axis from its scale s = in / out:
//   s <= 2 : bilinear interpolation with pixel-centre alignment; samples left of the first
//            centre are clamped to it (identical to torch.nn.functional.interpolate
//            mode="bilinear", align_corners=False, antialias=False). At s = 2 this is already
//            the mean of each pair of source pixels.
//   s > 2  : area average: each output pixel is the mean of the source pixels its footprint
//            [d * s, (d + 1) * s) covers, partially covered pixels weighted by the covered
//            fraction (torch's mode="area" for integer factors), so that e.g. 256 -> 64 averages
//            4x4 blocks instead of aliasing.
// Same size: an exact copy. Returns an empty vector when an argument is invalid (any size
// < 1, or chw.size() != c * h * w).
std::vector<float> ResizeBilinear(const std::vector<float>& chw, int64_t c, int64_t h, int64_t w,
                                  int64_t out_h, int64_t out_w);

// Resizes an HW uint8 mask by nearest neighbour on pixel centres: output (y, x) takes source
// (floor((y + 0.5) * h / out_h), floor((x + 0.5) * w / out_w)) (torch's mode="nearest-exact").
// Class values are never blended. Returns an empty vector on invalid arguments (as above).
std::vector<uint8_t> ResizeNearest(const std::vector<uint8_t>& hw, int64_t h, int64_t w, int64_t out_h,
                                   int64_t out_w);

// Centred crop and/or pad of each axis to the output size (cropping one axis and padding the
// other is fine). Per axis the source offset is (in - out) / 2 rounded toward zero: an odd
// surplus is cropped from the end, an odd padding goes to the end (as torchvision's
// center_crop / pad do). New pixels get `fill`. Returns an empty vector on invalid arguments
// (sizes < 1 or a buffer of the wrong size).
std::vector<float> CropOrPad2D(const std::vector<float>& chw, int64_t c, int64_t h, int64_t w, int64_t out_h,
                               int64_t out_w, float fill);
std::vector<uint8_t> CropOrPad2D(const std::vector<uint8_t>& hw, int64_t h, int64_t w, int64_t out_h,
                                 int64_t out_w, uint8_t fill);

// Per-channel z-score in place: each of the c planes of hw pixels gets (x - mean) / std
// (population std, accumulated in double). A plane with std < 1e-8 only has its mean
// subtracted. Does nothing when chw.size() != c * hw or c, hw < 1.
void ZScoreChannels(std::vector<float>& chw, int64_t c, int64_t hw);

// An 8-bit image as decoded: interleaved HWC, rows top to bottom.
struct Image8 {
  int64_t h = 0, w = 0, c = 0;
  std::vector<uint8_t> hwc;
};

// Decodes a PNG, JPEG (baseline or progressive), BMP, GIF (first frame), TGA, PSD, PIC or
// PNM file with stb_image. desired_channels: 0 = as stored, else 1 (grey), 2 (grey + alpha),
// 3 (RGB) or 4 (RGBA); colour is converted to grey as stb does, by the luminance
// (77 R + 150 G + 29 B) >> 8. 16-bit PNGs are reduced to 8 bits. Images are never flipped.
// Errors: NotFound (no such file), InvalidArgument (a directory, bad desired_channels, more
// than 2^28 pixels), DataLoss (cannot be read, not an image, truncated or corrupt, or more
// than 2^24 pixels with under a byte of file per 16,384 pixels; the message names the file
// and gives stb's reason).
StatusOr<Image8> ReadImage(const std::string& path, int desired_channels = 0);

// Writes interleaved HWC uint8 pixels (channels 1 = grey, 2 = grey + alpha, 3 = RGB,
// 4 = RGBA) as a PNG, atomically: the file is written to a temporary name in the same
// directory, flushed and renamed over `path` (see fl::AtomicWriteFile), so readers never see
// a partial image. The directory must exist. Errors: InvalidArgument (null data, sizes < 1 or
// too large for PNG, bad channel count), Internal (encoding or I/O failure).
Status WritePng(const std::string& path, const uint8_t* data, int64_t h, int64_t w, int64_t channels);

}  // namespace fl::data
