// Image datasets from NumPy .npz archives (MedMNIST layout: <prefix>_images, <prefix>_labels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "fl/status.h"

namespace fl::data {

struct NpzOptions {
  std::string path;
  std::string train_prefix = "train";  // arrays <prefix>_images, <prefix>_labels
  std::string test_prefix = "test";
  Partition partition;  // applied to train and to test separately (same weights/index/seed)
  int64_t max_train = 0;  // 0 = all; else keep the first max_train after partitioning
  int64_t max_test = 0;
  // 0 = max label + 1 over the file's train and test labels; else the number of classes
  // (a label >= num_classes is an error). Sites whose files lack the highest class (label
  // skew) set it so that every site builds the same model.
  int64_t num_classes = 0;
};

// Loads this site's train and test sets.
//
// Images must be uint8 of shape (N,H,W) -> sample_shape {1,H,W}, or (N,H,W,C) with C = 3 (or
// 1) -> {C,H,W} (transposed from HWC to CHW), of at most 2^28 pixels; values are scaled to
// [0,1] by /255. Train and test images must have the same sample shape. Labels: (N,) or (N,1), any integer dtype,
// non-negative, one per image; num_classes = max label + 1 over the full train and test
// arrays (before partitioning, so every site agrees). Rows kept after partitioning are in
// file order. Never throws.
StatusOr<Split> LoadNpz(const NpzOptions& o);

// One array from a .npy file. data holds the raw little-endian bytes, C order.
struct NpyArray {
  std::string dtype;           // numpy descr as written, e.g. "|u1" "<i8" "<f4"
  std::vector<int64_t> shape;  // empty for a 0-d array
  std::vector<uint8_t> data;   // exactly numel * itemsize bytes

  int64_t numel() const;       // product of shape (1 for a 0-d array, 0 with any 0 dimension)
};

// Parses an in-memory .npy file (format versions 1.0, 2.0 and 3.0). Supported dtypes: bool
// (b1), signed/unsigned integers (i1..i8, u1..u8) and floats (f2, f4, f8), little-endian or
// byte-order free. Rejected: fortran_order True, big-endian, object/string/structured dtypes.
// `what_for_errors` starts every error message (e.g. "npz file 'x.npz' member 'a.npy'").
// DataLoss when the buffer is shorter or longer than the header says; InvalidArgument for a
// malformed header or an unsupported array.
StatusOr<NpyArray> ParseNpy(const uint8_t* bytes, size_t size, const std::string& what_for_errors);

// The images of an archive to predict on: `<prefix>_images` (else `images`, else its only
// `*_images` member), with `<prefix>_labels` as the given labels when the archive has them.
// Images as LoadNpz prepares them; ids "FILE:MEMBER[I]".
StatusOr<SamplesToScore> LoadNpzToScore(const std::string& path, const std::string& prefix);

// Reads .npy members of a .npz archive (stored or deflated zip, as numpy.savez and
// savez_compressed write them) with libzip. `members` are names without ".npy"; empty = all
// members whose name ends in ".npy". Keys of the result are the names without ".npy".
// Errors: NotFound (file or a requested member missing), DataLoss (not a zip, truncated
// archive, CRC mismatch, member size inconsistent with its .npy header), InvalidArgument
// (unsupported array, see ParseNpy). Messages name the file and the member.
StatusOr<std::map<std::string, NpyArray>> ReadNpz(const std::string& path,
                                                  const std::vector<std::string>& members);

// The .npy encoding of an array (format 1.0, header padded to 64 bytes as numpy writes it).
// InvalidArgument when data.size() is not numel times the dtype's item size.
StatusOr<std::vector<uint8_t>> EncodeNpy(const NpyArray& a);

// Writes arrays as an uncompressed .npz (numpy.load reads it; so does ReadNpz), through a
// temporary file renamed into place, so a failed write never leaves a partial archive.
// Keys are member names without ".npy".
Status WriteNpz(const std::string& path, const std::map<std::string, NpyArray>& arrays);

// Rows `rows` (indices along the first axis, in the given order) of an array of rank >= 1.
// InvalidArgument for a 0-d array or an index out of range.
StatusOr<NpyArray> TakeRows(const NpyArray& a, const std::vector<size_t>& rows);

}  // namespace fl::data
