// In-memory datasets shared by all loaders, and the deterministic partitioning that lets
// several simulated hospitals load one file and each keep a disjoint part of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl::data {

// The most classes a classifier may have: class labels are 0 .. kMaxClasses - 1, so that a
// stray label (2e9) cannot make a worker size its outputs or counts from it.
constexpr int64_t kMaxClasses = 1000;

// A labelled dataset held in memory. Sample i occupies
// features[i * SampleNumel(), (i + 1) * SampleNumel()).
struct Dataset {
  std::vector<float> features;        // row-major: size() x SampleNumel()
  std::vector<int64_t> labels;        // size() entries in [0, num_classes)
  std::vector<int64_t> sample_shape;  // {F} for tables, {C,H,W} for images
  int64_t num_classes = 0;            // classes of the label (classification) or of the mask pixels

  // Segmentation only: a class-index mask per sample, size() x MaskNumel() entries in
  // [0, num_classes), row-major {H, W}. labels[i] is then 1 when mask i has any foreground
  // and 0 otherwise (used to stratify and to sample slices).
  std::vector<uint8_t> masks;
  std::vector<int64_t> mask_shape;    // {H, W} for segmentation, empty for classification
  // The case (volume or patient) each sample comes from, so that metrics can be computed
  // per volume; empty = every sample is its own case.
  std::vector<int32_t> cases;
  // Where each sample comes from, for people: "FILE:LINE" for a table row (its line in the
  // file), "FILE:train_images[I]" / "FILE:test_images[I]" for an image of an npz array. Empty when the
  // loader does not record it (image folders, volumes).
  std::vector<std::string> ids;

  size_t size() const { return labels.size(); }
  bool segmentation() const { return !mask_shape.empty(); }
  // Product of sample_shape (1 for an empty shape).
  int64_t SampleNumel() const;
  // Product of mask_shape (0 for classification).
  int64_t MaskNumel() const;
};

struct Split {
  Dataset train;
  Dataset test;
};

// New patients' samples to predict on: prepared as the hospital prepares its data, labels
// all 0 (unknown), ids set; given_labels holds the label each came with ("" when none).
struct SamplesToScore {
  Dataset data;
  std::vector<std::string> given_labels;
};

// Appends the samples of `from` to `to` (an empty `to` becomes a copy). Both must have the
// same sample and mask shapes; num_classes becomes the larger of the two. Cases are kept
// apart: `from`'s case numbers follow `to`'s (a dataset without case numbers counts each
// sample as its own case). InvalidArgument when the shapes differ.
Status AppendDataset(const Dataset& from, Dataset* to);

// Simulated sites: all workers load the same file with the same seed and each keeps its own
// disjoint part. weights need not sum to 1 (they are normalised); index < weights.size().
struct Partition {
  std::vector<double> weights;  // empty = no partitioning (keep everything)
  size_t index = 0;
  uint64_t seed = 0;            // shared by all sites
  // Label skew: > 0 draws, for each class, the sites' shares of that class from
  // Dirichlet(dirichlet_alpha * K * w) (K sites, w the normalised weights): small alpha,
  // strong skew. 0 = every site gets the same class mix.
  double dirichlet_alpha = 0;
};

// Returns the row indices (of 0..n-1) that belong to part `p.index`, in ascending order.
//
// A permutation of 0..n-1 is drawn from p.seed with SplitMix64 (see data/rng.h; identical on
// every platform) and cut into contiguous pieces whose sizes are proportional to the weights,
// rounded with the largest-remainder method (ties go to the lower index) so that they sum to
// n. Parts are therefore disjoint and together cover all rows. A part with weight 0 is empty.
// With empty weights every row is returned (p.index and p.seed are ignored).
//
// Errors (InvalidArgument): index out of range, a weight negative or non-finite, all weights
// zero.
StatusOr<std::vector<size_t>> PartitionRows(size_t n, const Partition& p);

// The part sizes PartitionRows uses: largest-remainder apportionment of n rows to weights.
// Same error conditions as PartitionRows except the index check; empty weights -> {n}.
StatusOr<std::vector<size_t>> PartitionSizes(size_t n, const std::vector<double>& weights);

// PartitionRows with label skew (Partition::dirichlet_alpha > 0): each class's rows are
// shuffled and cut by that class's Dirichlet proportions, which depend on the seed and
// the class only, so a train split and a test split get the same class mix per site.
// With dirichlet_alpha == 0 this is PartitionRows(labels.size(), p).
StatusOr<std::vector<size_t>> PartitionRowsByLabel(const std::vector<int64_t>& labels, const Partition& p);

// Copies the given rows (in the given order) of `d`, with their masks and case ids, into a
// new dataset with the same sample_shape, mask_shape and num_classes. Indices >= d.size() are skipped (callers pass indices
// obtained from PartitionRows or a split, which are always in range).
Dataset Subset(const Dataset& d, const std::vector<size_t>& rows);

}  // namespace fl::data
