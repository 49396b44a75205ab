#include "data_summary.h"

#include <algorithm>
#include <vector>

namespace fl::worker {
namespace {

nlohmann::json DescribeDataset(const data::Dataset& d, int64_t num_classes, bool with_ids) {
  std::vector<int64_t> counts(static_cast<size_t>(std::max<int64_t>(num_classes, 0)), 0);
  for (int64_t y : d.labels) {
    if (y >= 0 && y < num_classes) ++counts[static_cast<size_t>(y)];
  }
  nlohmann::json out = {{"samples", d.size()}, {"class_counts", counts}};
  if (d.segmentation()) out["class_counts_meaning"] = "samples with (1) and without (0) foreground";
  if (with_ids) out["ids"] = d.ids.size() == d.size() ? nlohmann::json(d.ids) : nlohmann::json(nullptr);
  return out;
}

}  // namespace

nlohmann::json DescribeSplit(const data::Split& split, bool with_ids) {
  const int64_t k = std::max(split.train.num_classes, split.test.num_classes);
  const data::Dataset& any = split.train.size() > 0 ? split.train : split.test;
  const int64_t label_classes = any.segmentation() ? 2 : k;
  return {{"num_classes", k},
          {"sample_shape", any.sample_shape},
          {"train", DescribeDataset(split.train, label_classes, with_ids)},
          {"test", DescribeDataset(split.test, label_classes, with_ids)}};
}

}  // namespace fl::worker
