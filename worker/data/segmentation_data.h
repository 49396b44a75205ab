// A hospital's segmentation data as the worker loads it: image folders with masks, or NIfTI
// volumes with label volumes cut into 2-D slices, with the configured preprocessing. The
// same preprocessing is applied at prediction time, and undone for NIfTI outputs so that
// predicted masks overlay the input volume.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/image_folder.h"
#include "data/nifti.h"
#include "fl/status.h"

namespace fl::data {

// Train and test folders, each with images/ and masks/ (as fl-prep writes them).
struct ImageSplitOptions {
  std::string train_dir;       // required
  std::string test_dir;        // optional: empty = no local test split
  ImageFolderOptions folder;   // channels, resize, threshold, normalisation (path is ignored)
};
StatusOr<Split> LoadImageSplit(const ImageSplitOptions& o);

// Volumes <dir>/<id><image_suffix> with labels <dir>/<id><label_suffix>; the ids of the
// train and test splits are listed one per line (blank lines and '#' comments ignored).
struct NiftiOptions {
  std::string dir;
  std::string train_list;                       // at least one of the two lists (a split
  std::string test_list;                        // without a list is empty); no id in both
  std::string image_suffix = "_image.nii.gz";
  std::string label_suffix = "_label.nii.gz";
  std::vector<double> spacing;                  // resample to this spacing (mm, x y z); empty = keep;
                                                // a volume that would exceed 2^28 voxels is refused
  std::vector<int64_t> crop;                    // crop/pad (x y z) about the volume centre; 0 or
                                                // missing entries keep that axis
  bool zscore = false;                          // per-volume z-score of the image intensities
  // false: every slice along `axis` is a 2-D sample (sample_shape {1, H, W}); true: every
  // volume is one 3-D sample {1, nz, ny, nx} with mask {nz, ny, nx} (a 3-D U-Net), for which
  // all volumes must have one size after preprocessing (set crop) and axis/stride do not apply.
  bool volumes = false;
  int axis = 2;                                 // slice axis: 2 = axial (z)
  int64_t slice_stride = 1;                     // training split: keep every n-th slice
  int num_classes = 2;                          // label values must be below this
};
StatusOr<Split> LoadNiftiSplit(const NiftiOptions& o);

// Groups the axial slices of VolumesToSlices(images, labels, 2, 1, k) back into volumes of
// `depth` slices each: sample_shape {1, depth, H, W}, mask_shape {depth, H, W}, labels[v] =
// 1 when volume v has any foreground, one case per volume (cases left empty). InvalidArgument
// when the slice count is not a multiple of depth or the data is not 2-D slices.
StatusOr<Dataset> StackSlices(Dataset slices, int64_t depth);

// Reads an id list file (see NiftiOptions). Errors: a missing or empty file, an id that is
// not a plain file name, an id listed twice.
StatusOr<std::vector<std::string>> ReadIdList(const std::string& path);

// One volume after the configured resampling, crop/pad and normalisation, with what is
// needed to map a mask predicted on it back onto the original volume.
struct PreparedVolume {
  Volume original;   // as read (its geometry is used for the output)
  Volume prepared;   // the volume the model sees
  std::array<int64_t, 3> start{0, 0, 0};  // crop box origin in resampled coordinates
  std::array<int64_t, 3> resampled_dims{0, 0, 0};
};
StatusOr<PreparedVolume> PrepareVolume(const NiftiOptions& o, const std::string& image_path);
// Maps a mask volume in prepared space back to the original grid (nearest neighbour).
StatusOr<Volume> RestoreMask(const NiftiOptions& o, const PreparedVolume& p, const Volume& mask);

}  // namespace fl::data
