// What a hospital's data section holds once loaded and split, for the people who run it:
// `fl-worker data --config W.json [--ids]`.
#pragma once

#include <nlohmann/json.hpp>

#include "data/dataset.h"

namespace fl::worker {

// {"num_classes", "sample_shape", "train": {"samples", "class_counts", ["ids"]}, "test": {...}}:
// the samples per class of each split and, with `with_ids`, where each sample comes from
// (data::Dataset::ids: a table's FILE:LINE, an npz array's FILE:ARRAY[I]), in order.
nlohmann::json DescribeSplit(const data::Split& split, bool with_ids);

}  // namespace fl::worker
