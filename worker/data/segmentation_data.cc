#include "data/segmentation_data.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "data/volume.h"
#include "data/volume_internal.h"
#include "fl/env.h"

namespace fl::data {

StatusOr<Split> LoadImageSplit(const ImageSplitOptions& o) {
  if (o.train_dir.empty()) return InvalidArgument("images: train_dir is required");
  Split s;
  ImageFolderOptions f = o.folder;
  f.path = o.train_dir;
  FL_ASSIGN_OR_RETURN(s.train, LoadImageFolder(f));
  if (!o.test_dir.empty()) {
    f.path = o.test_dir;
    FL_ASSIGN_OR_RETURN(s.test, LoadImageFolder(f));
    if (s.test.sample_shape != s.train.sample_shape) {
      return InvalidArgument("images: " + o.test_dir + " holds images of another size or channel count than " +
                             o.train_dir + "; set height and width to resize both");
    }
  } else {
    s.test = Subset(s.train, {});
  }
  return s;
}

StatusOr<std::vector<std::string>> ReadIdList(const std::string& path) {
  StatusOr<std::string> text = Env::Default().ReadFile(path, std::numeric_limits<size_t>::max());
  if (!text.ok()) return NotFound("cannot open id list " + path);
  std::vector<std::string> ids;
  for (size_t start = 0; start < text->size();) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    const auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    const std::string id = line.substr(b, e - b + 1);
    if (id.find('/') != std::string::npos || id == ".." || id == ".")
      return InvalidArgument(path + ": id '" + id + "' is not a plain name");
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
      return InvalidArgument(path + ": id '" + id + "' is listed twice");
    }
    ids.push_back(id);
  }
  if (ids.empty()) return InvalidArgument("id list " + path + " is empty");
  return ids;
}

namespace {

// Resampling to a finer grid multiplies the voxels: a corrupt or hostile header (one voxel
// "of 2 m") must not make a file of a few hundred bytes take gigabytes.
constexpr double kMaxResampledVoxels = double(int64_t{1} << 28);  // 1 GiB of float32

std::array<int64_t, 3> CropDims(const NiftiOptions& o, const std::array<int64_t, 3>& dims) {
  std::array<int64_t, 3> out = dims;
  for (size_t a = 0; a < 3 && a < o.crop.size(); ++a) {
    if (o.crop[a] > 0) out[a] = o.crop[a];
  }
  return out;
}

// Resample, crop/pad about the centre, normalise. `label` (may be null) follows the image.
Status Prepare(const NiftiOptions& o, Volume* image, Volume* label, std::array<int64_t, 3>* start,
               std::array<int64_t, 3>* resampled_dims) {
  if (!o.spacing.empty()) {
    if (o.spacing.size() != 3) return InvalidArgument("nifti.spacing needs 3 values (x y z, mm)");
    const std::array<double, 3> sp{o.spacing[0], o.spacing[1], o.spacing[2]};
    double voxels = 1;  // as ResampleToSpacing sizes its output
    for (int a = 0; a < 3; ++a) voxels *= std::max(1.0, std::round(double(image->dims[a]) / (sp[a] / image->spacing[a])));
    if (!(voxels <= kMaxResampledVoxels)) {
      using volume_internal::Num;
      return InvalidArgument("resampling a volume of " + DimsString(image->dims) + " voxels of (" +
                             Num(image->spacing[0]) + ", " + Num(image->spacing[1]) + ", " + Num(image->spacing[2]) +
                             ") mm to nifti.spacing would make " + Num(voxels) +
                             " voxels, above 2^28; is its voxel size right?");
    }
    FL_ASSIGN_OR_RETURN(*image, ResampleToSpacing(*image, sp, Interp::kLinear));
    if (label) {
      FL_ASSIGN_OR_RETURN(*label, ResampleToSpacing(*label, sp, Interp::kNearest));
    }
  }
  *resampled_dims = image->dims;
  const std::array<int64_t, 3> dims = CropDims(o, image->dims);
  const std::array<int64_t, 3> centre = CentreOf(*image);
  for (int a = 0; a < 3; ++a) (*start)[a] = centre[a] - dims[a] / 2;
  // Normalise before padding, so that padding does not shift the statistics.
  if (o.zscore) ZScore(image->data);
  if (dims != image->dims) {
    float lowest = 0;
    if (!image->data.empty()) lowest = *std::min_element(image->data.begin(), image->data.end());
    FL_ASSIGN_OR_RETURN(*image, CropOrPad(*image, dims, centre, lowest));
    if (label) {
      FL_ASSIGN_OR_RETURN(*label, CropOrPad(*label, dims, centre, 0.0f));
    }
  }
  return Status::Ok();
}

StatusOr<Dataset> LoadCases(const NiftiOptions& o, const std::string& list, int64_t stride) {
  FL_ASSIGN_OR_RETURN(std::vector<std::string> ids, ReadIdList(list));
  std::vector<Volume> images, labels;
  for (const std::string& id : ids) {
    const std::string image_path = o.dir + "/" + id + o.image_suffix;
    const std::string label_path = o.dir + "/" + id + o.label_suffix;
    FL_ASSIGN_OR_RETURN(Volume image, ReadNifti(image_path));
    FL_ASSIGN_OR_RETURN(Volume label, ReadNiftiLabel(label_path, image));
    std::array<int64_t, 3> start{}, resampled{};
    FL_RETURN_IF_ERROR(Prepare(o, &image, &label, &start, &resampled));
    if (!images.empty() && image.dims != images.front().dims) {
      return InvalidArgument(image_path + " is " + DimsString(image.dims) + " after preprocessing but " + o.dir + "/" +
                             ids.front() + o.image_suffix + " is " + DimsString(images.front().dims) +
                             "; set nifti.crop so that every volume has the same size");
    }
    images.push_back(std::move(image));
    labels.push_back(std::move(label));
  }
  if (!o.volumes) return VolumesToSlices(images, labels, o.axis, stride, o.num_classes);
  FL_ASSIGN_OR_RETURN(Dataset slices, VolumesToSlices(images, labels, 2, 1, o.num_classes));
  return StackSlices(std::move(slices), images.empty() ? 1 : images.front().dims[2]);
}

}  // namespace

StatusOr<Split> LoadNiftiSplit(const NiftiOptions& o) {
  if (o.train_list.empty() && o.test_list.empty()) return InvalidArgument("nifti: train_list or test_list is required");
  if (o.slice_stride < 1) return InvalidArgument("nifti: slice_stride must be at least 1");
  if (o.volumes && o.slice_stride != 1) return InvalidArgument("nifti: slice_stride applies to slices, not to whole volumes");
  if (!o.train_list.empty() && !o.test_list.empty()) {
    FL_ASSIGN_OR_RETURN(std::vector<std::string> train_ids, ReadIdList(o.train_list));
    FL_ASSIGN_OR_RETURN(std::vector<std::string> test_ids, ReadIdList(o.test_list));
    for (const std::string& id : test_ids) {
      if (std::find(train_ids.begin(), train_ids.end(), id) != train_ids.end()) {
        return InvalidArgument("nifti: case " + id + " is in both " + o.train_list + " and " + o.test_list);
      }
    }
  }
  Split s;
  if (!o.train_list.empty()) {
    FL_ASSIGN_OR_RETURN(s.train, LoadCases(o, o.train_list, o.slice_stride));
  }
  if (!o.test_list.empty()) {
    FL_ASSIGN_OR_RETURN(s.test, LoadCases(o, o.test_list, 1));
    if (!o.train_list.empty() && s.test.sample_shape != s.train.sample_shape) {
      return InvalidArgument(std::string("nifti: test volumes give ") + (o.volumes ? "volumes" : "slices") +
                             " of another size than training volumes; set nifti.crop");
    }
  }
  // An empty split keeps the other's shapes, so it can be handed to the trainer.
  if (o.train_list.empty()) s.train = Subset(s.test, {});
  if (o.test_list.empty()) s.test = Subset(s.train, {});
  return s;
}

StatusOr<Dataset> StackSlices(Dataset slices, int64_t depth) {
  if (slices.sample_shape.size() != 3 || slices.mask_shape.size() != 2 || depth < 1 ||
      slices.size() % static_cast<size_t>(depth) != 0) {
    return InvalidArgument("volumes: " + std::to_string(slices.size()) + " slices do not make volumes of " +
                           std::to_string(depth) + " slices");
  }
  const size_t n = slices.size() / static_cast<size_t>(depth);
  const int64_t h = slices.mask_shape[0], w = slices.mask_shape[1];
  Dataset d;
  d.num_classes = slices.num_classes;
  d.sample_shape = {slices.sample_shape[0], depth, h, w};
  d.mask_shape = {depth, h, w};
  d.features = std::move(slices.features);
  d.masks = std::move(slices.masks);
  d.labels.assign(n, 0);
  for (size_t i = 0; i < slices.size(); ++i) {
    if (slices.labels[i] != 0) d.labels[i / static_cast<size_t>(depth)] = 1;
  }
  return d;
}

StatusOr<PreparedVolume> PrepareVolume(const NiftiOptions& o, const std::string& image_path) {
  PreparedVolume p;
  FL_ASSIGN_OR_RETURN(p.original, ReadNifti(image_path));
  p.prepared = p.original;
  FL_RETURN_IF_ERROR(Prepare(o, &p.prepared, nullptr, &p.start, &p.resampled_dims));
  return p;
}

StatusOr<Volume> RestoreMask(const NiftiOptions& o, const PreparedVolume& p, const Volume& mask) {
  Volume m = mask;
  if (m.dims != p.resampled_dims) {
    // Undo the crop/pad: the resampled grid is a box starting at -start in prepared coordinates.
    std::array<int64_t, 3> centre{};
    for (int a = 0; a < 3; ++a) centre[a] = -p.start[a] + p.resampled_dims[a] / 2;
    FL_ASSIGN_OR_RETURN(m, CropOrPad(m, p.resampled_dims, centre, 0.0f));
  }
  if (!o.spacing.empty()) {
    FL_ASSIGN_OR_RETURN(m, ResampleToSpacing(m, p.original.spacing, Interp::kNearest));
    // Resampled back, voxel j lies on original voxel j: keep the box that starts at 0.
    if (m.dims != p.original.dims) {
      FL_ASSIGN_OR_RETURN(m, CropOrPad(m, p.original.dims, CentreOf(p.original), 0.0f));
    }
  }
  m.spacing = p.original.spacing;
  m.geometry = p.original.geometry;
  return m;
}

}  // namespace fl::data
