#include "data/npz_loader.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <memory>
#include <utility>

#include "data/npy_util.h"
#include "fl/env.h"

namespace fl::data {
namespace {

std::string FileCtx(const std::string& path) { return "npz file '" + path + "'"; }
std::string MemberCtx(const std::string& path, const std::string& entry) {
  return FileCtx(path) + " member '" + entry + "'";
}

// ---- Turning arrays into datasets -----------------------------------------------------

struct ImageLayout {
  int64_t n = 0, h = 0, w = 0, c = 1;
  bool channels_last = false;  // (N,H,W,C): needs the HWC -> CHW transpose when C > 1
};

StatusOr<ImageLayout> CheckImages(const NpyArray& a, const std::string& ctx) {
  FL_ASSIGN_OR_RETURN(const internal::NpyDtype t, internal::ParseNpyDtype(a.dtype, ctx));
  if (t.kind != 'u' || t.itemsize != 1) {
    return InvalidArgument(ctx + ": images must have dtype uint8 ('|u1'), got '" + a.dtype + "'");
  }
  ImageLayout l;
  const auto& s = a.shape;
  if (s.size() == 3) {
    l = {s[0], s[1], s[2], 1, false};
  } else if (s.size() == 4 && (s[3] == 3 || s[3] == 1)) {
    l = {s[0], s[1], s[2], s[3], true};
  } else {
    return InvalidArgument(ctx + ": images must have shape (N,H,W) or (N,H,W,3), got " +
                           internal::ShapeString(s));
  }
  if (l.h == 0 || l.w == 0) {
    return InvalidArgument(ctx + ": images have an empty shape " + internal::ShapeString(s));
  }
  // As for image files (ReadImage): at most 2^28 pixels. An array of no images may declare
  // any height and width; their product must not overflow.
  constexpr int64_t kMaxPixels = int64_t{1} << 28;
  if (l.h > kMaxPixels || l.w > kMaxPixels || l.h * l.w > kMaxPixels) {
    return InvalidArgument(ctx + ": images of shape " + internal::ShapeString(s) + " are too large (over 2^28 pixels)");
  }
  return l;
}

StatusOr<std::vector<int64_t>> ReadLabels(const NpyArray& a, int64_t num_images,
                                          const std::string& ctx,
                                          const std::string& images_member) {
  FL_ASSIGN_OR_RETURN(const internal::NpyDtype t, internal::ParseNpyDtype(a.dtype, ctx));
  if (t.kind != 'i' && t.kind != 'u') {
    return InvalidArgument(ctx + ": labels must have an integer dtype, got '" + a.dtype + "'");
  }
  if (!(a.shape.size() == 1 || (a.shape.size() == 2 && a.shape[1] == 1))) {
    return InvalidArgument(ctx + ": labels must have shape (N,) or (N,1), got " +
                           internal::ShapeString(a.shape));
  }
  const int64_t n = a.shape[0];
  if (n != num_images) {
    return InvalidArgument(ctx + " has " + std::to_string(n) + " labels but member '" +
                           images_member + "' has " + std::to_string(num_images) + " images");
  }
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!internal::ReadIntegerElement(a, t, i, &labels[i])) {
      return InvalidArgument(ctx + ": label at index " + std::to_string(i) + " is too large");
    }
    if (labels[i] < 0) {
      return InvalidArgument(ctx + ": label at index " + std::to_string(i) + " is negative (" +
                             std::to_string(labels[i]) + ")");
    }
    if (labels[i] >= kMaxClasses) {
      return InvalidArgument(ctx + ": label at index " + std::to_string(i) + " is " + std::to_string(labels[i]) +
                             "; class labels are 0.." + std::to_string(kMaxClasses - 1));
    }
  }
  return labels;
}

// Selects this site's rows, then truncates to `max_rows` (0 = no limit).
StatusOr<std::vector<size_t>> SelectRows(const std::vector<int64_t>& labels, const Partition& p, int64_t max_rows,
                                         const std::string& ctx) {
  StatusOr<std::vector<size_t>> rows = PartitionRowsByLabel(labels, p);
  if (!rows.ok()) return rows.status().WithContext(ctx);
  if (max_rows > 0 && rows->size() > static_cast<uint64_t>(max_rows)) {
    rows->resize(static_cast<size_t>(max_rows));
  }
  return rows;
}

Dataset BuildImageDataset(const NpyArray& images, const ImageLayout& l,
                          const std::vector<int64_t>& labels, const std::vector<size_t>& rows,
                          int64_t num_classes, const std::string& id_prefix) {
  Dataset d;
  d.ids.reserve(rows.size());
  for (size_t r : rows) d.ids.push_back(id_prefix + "[" + std::to_string(r) + "]");
  d.sample_shape = {l.c, l.h, l.w};
  d.num_classes = num_classes;
  const auto plane = static_cast<size_t>(l.h * l.w);
  const auto channels = static_cast<size_t>(l.c);
  const size_t numel = plane * channels;
  d.features.resize(rows.size() * numel);
  d.labels.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    const uint8_t* src = images.data.data() + rows[k] * numel;
    float* dst = d.features.data() + k * numel;
    if (!l.channels_last || channels == 1) {
      for (size_t i = 0; i < numel; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
    } else {
      for (size_t p = 0; p < plane; ++p) {  // pixel p, channel ch: HWC -> CHW
        for (size_t ch = 0; ch < channels; ++ch) {
          dst[ch * plane + p] = static_cast<float>(src[p * channels + ch]) / 255.0f;
        }
      }
    }
    d.labels.push_back(labels[rows[k]]);
  }
  return d;
}

StatusOr<Split> LoadNpzImpl(const NpzOptions& o) {
  const std::string ctx = FileCtx(o.path);
  if (o.max_train < 0 || o.max_test < 0) {
    return InvalidArgument(ctx + ": max_train and max_test must be >= 0");
  }
  const std::string train_images = o.train_prefix + "_images";
  const std::string train_labels = o.train_prefix + "_labels";
  const std::string test_images = o.test_prefix + "_images";
  const std::string test_labels = o.test_prefix + "_labels";
  FL_ASSIGN_OR_RETURN(auto arrays,
                      ReadNpz(o.path, {train_images, train_labels, test_images, test_labels}));
  const auto member = [&](const std::string& name) { return MemberCtx(o.path, name + ".npy"); };

  const NpyArray& tr_img = arrays.at(train_images);
  const NpyArray& te_img = arrays.at(test_images);
  FL_ASSIGN_OR_RETURN(const ImageLayout tr_layout, CheckImages(tr_img, member(train_images)));
  FL_ASSIGN_OR_RETURN(const ImageLayout te_layout, CheckImages(te_img, member(test_images)));
  if (tr_layout.c != te_layout.c || tr_layout.h != te_layout.h || tr_layout.w != te_layout.w) {
    return InvalidArgument(ctx + ": train images " + internal::ShapeString(tr_img.shape) +
                           " and test images " + internal::ShapeString(te_img.shape) +
                           " have different sample shapes");
  }
  FL_ASSIGN_OR_RETURN(const std::vector<int64_t> tr_y,
                      ReadLabels(arrays.at(train_labels), tr_layout.n, member(train_labels),
                                 train_images + ".npy"));
  FL_ASSIGN_OR_RETURN(const std::vector<int64_t> te_y,
                      ReadLabels(arrays.at(test_labels), te_layout.n, member(test_labels),
                                 test_images + ".npy"));
  int64_t max_label = -1;
  for (int64_t y : tr_y) max_label = std::max(max_label, y);
  for (int64_t y : te_y) max_label = std::max(max_label, y);
  if (o.num_classes < 0) return InvalidArgument(ctx + ": num_classes must be >= 0");
  if (o.num_classes > 0 && max_label >= o.num_classes) {
    return InvalidArgument(ctx + ": label " + std::to_string(max_label) + " is out of range for num_classes " +
                           std::to_string(o.num_classes));
  }
  const int64_t num_classes = o.num_classes > 0 ? o.num_classes : max_label + 1;

  FL_ASSIGN_OR_RETURN(const std::vector<size_t> tr_rows,
                      SelectRows(tr_y, o.partition, o.max_train, ctx));
  FL_ASSIGN_OR_RETURN(const std::vector<size_t> te_rows,
                      SelectRows(te_y, o.partition, o.max_test, ctx));
  Split split;
  split.train = BuildImageDataset(tr_img, tr_layout, tr_y, tr_rows, num_classes, o.path + ":" + train_images);
  split.test = BuildImageDataset(te_img, te_layout, te_y, te_rows, num_classes, o.path + ":" + test_images);
  return split;
}

}  // namespace

StatusOr<SamplesToScore> LoadNpzToScore(const std::string& path, const std::string& prefix) {
  try {
    FL_ASSIGN_OR_RETURN(auto arrays, ReadNpz(path, {}));
    std::string images = prefix + "_images";
    if (!arrays.count(images)) images = "images";
    if (!arrays.count(images)) {
      std::vector<std::string> candidates;
      for (const auto& [name, a] : arrays) {
        if (name.size() > 7 && name.compare(name.size() - 7, 7, "_images") == 0) candidates.push_back(name);
      }
      if (candidates.size() != 1) {
        return InvalidArgument(FileCtx(path) + ": no " + prefix + "_images or images array to predict on");
      }
      images = candidates[0];
    }
    const NpyArray& img = arrays.at(images);
    FL_ASSIGN_OR_RETURN(const ImageLayout layout, CheckImages(img, MemberCtx(path, images + ".npy")));
    SamplesToScore out;
    std::vector<size_t> rows(static_cast<size_t>(layout.n));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    const std::string labels = images.substr(0, images.size() - 6) + "labels";  // x_images -> x_labels
    if (arrays.count(labels)) {
      FL_ASSIGN_OR_RETURN(const std::vector<int64_t> y,
                          ReadLabels(arrays.at(labels), layout.n, MemberCtx(path, labels + ".npy"), images + ".npy"));
      for (int64_t v : y) out.given_labels.push_back(std::to_string(v));
    } else {
      out.given_labels.assign(rows.size(), "");
    }
    out.data = BuildImageDataset(img, layout, std::vector<int64_t>(rows.size(), 0), rows, 0, path + ":" + images);
    return out;
  } catch (const std::exception& e) {
    return Internal(FileCtx(path) + ": " + e.what());
  }
}

StatusOr<Split> LoadNpz(const NpzOptions& o) {
  try {
    return LoadNpzImpl(o);
  } catch (const std::exception& e) {
    return Internal(FileCtx(o.path) + ": " + e.what());
  }
}

}  // namespace fl::data
