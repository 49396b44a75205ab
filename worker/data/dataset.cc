#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>

#include "data/rng.h"

namespace fl::data {

int64_t Dataset::SampleNumel() const {
  int64_t n = 1;
  for (int64_t d : sample_shape) n *= d;
  return n;
}

int64_t Dataset::MaskNumel() const {
  if (mask_shape.empty()) return 0;
  int64_t n = 1;
  for (int64_t d : mask_shape) n *= d;
  return n;
}

namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// The case of each sample: its own number when the dataset has none.
std::vector<int32_t> CasesOf(const Dataset& d) {
  if (!d.cases.empty()) return d.cases;
  std::vector<int32_t> c(d.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = static_cast<int32_t>(i);
  return c;
}

}  // namespace

Status AppendDataset(const Dataset& from, Dataset* to) {
  if (to->size() == 0 && to->sample_shape.empty()) {
    *to = from;
    return Status::Ok();
  }
  if (from.sample_shape != to->sample_shape) {
    return InvalidArgument("samples of shape " + ShapeText(from.sample_shape) + " cannot join samples of shape " +
                           ShapeText(to->sample_shape));
  }
  if (from.mask_shape != to->mask_shape) {
    return InvalidArgument("masks of shape " + ShapeText(from.mask_shape) + " cannot join masks of shape " +
                           ShapeText(to->mask_shape));
  }
  if (!from.cases.empty() || !to->cases.empty()) {
    std::vector<int32_t> cases = CasesOf(*to);
    int32_t next = 0;
    for (int32_t c : cases) next = std::max(next, c + 1);
    for (int32_t c : CasesOf(from)) cases.push_back(next + c);
    to->cases = std::move(cases);
  }
  const bool keep_ids = to->ids.size() == to->size() && from.ids.size() == from.size();
  to->features.insert(to->features.end(), from.features.begin(), from.features.end());
  to->labels.insert(to->labels.end(), from.labels.begin(), from.labels.end());
  to->masks.insert(to->masks.end(), from.masks.begin(), from.masks.end());
  if (keep_ids) {
    to->ids.insert(to->ids.end(), from.ids.begin(), from.ids.end());
  } else {
    to->ids.clear();  // some samples without an id: none keeps one
  }
  to->num_classes = std::max(to->num_classes, from.num_classes);
  return Status::Ok();
}

StatusOr<std::vector<size_t>> PartitionSizes(size_t n, const std::vector<double>& weights) {
  if (weights.empty()) return std::vector<size_t>{n};

  // Validate, and scale by the largest weight so that the sum cannot overflow to infinity.
  double max_weight = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double w = weights[i];
    if (!std::isfinite(w) || w < 0.0) {
      return InvalidArgument("partition weight " + std::to_string(i) + " is " +
                             std::to_string(w) + ": weights must be finite and non-negative");
    }
    max_weight = std::max(max_weight, w);
  }
  if (max_weight <= 0.0) return InvalidArgument("partition weights are all zero");
  double total = 0.0;
  for (double w : weights) total += w / max_weight;

  // Integer parts of the exact quotas, then one extra row for the largest remainders.
  const size_t k = weights.size();
  std::vector<size_t> sizes(k, 0);
  std::vector<double> remainder(k, 0.0);
  size_t assigned = 0;
  for (size_t i = 0; i < k; ++i) {
    const double quota = static_cast<double>(n) * (weights[i] / max_weight) / total;
    const double whole = std::floor(quota);
    sizes[i] = std::min(n, static_cast<size_t>(whole));
    remainder[i] = quota - whole;
    assigned += sizes[i];
  }
  // Parts ranked by remainder (desc), ties by index; zero-weight parts never receive rows.
  std::vector<size_t> order;
  for (size_t i = 0; i < k; ++i) {
    if (weights[i] > 0.0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  // With exact arithmetic n - assigned < order.size(); the loops also absorb the off-by-one
  // that floating-point rounding of the quotas could introduce in either direction.
  for (size_t r = 0; assigned < n; r = (r + 1) % order.size()) {
    ++sizes[order[r]];
    ++assigned;
  }
  for (size_t r = 0; assigned > n; r = (r + 1) % order.size()) {
    const size_t i = order[order.size() - 1 - r];  // smallest remainders give rows back first
    if (sizes[i] > 0) {
      --sizes[i];
      --assigned;
    }
  }
  return sizes;
}

StatusOr<std::vector<size_t>> PartitionRows(size_t n, const Partition& p) {
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), size_t{0});
  if (p.weights.empty()) return all;
  if (p.index >= p.weights.size()) {
    return InvalidArgument("partition index " + std::to_string(p.index) +
                           " is out of range for " + std::to_string(p.weights.size()) +
                           " weights");
  }
  FL_ASSIGN_OR_RETURN(std::vector<size_t> sizes, PartitionSizes(n, p.weights));

  SplitMix64 rng(p.seed);
  rng.Shuffle(all);
  const size_t begin = std::accumulate(sizes.begin(), sizes.begin() + p.index, size_t{0});
  std::vector<size_t> rows(all.begin() + begin, all.begin() + begin + sizes[p.index]);
  std::sort(rows.begin(), rows.end());
  return rows;
}

namespace {

double Uniform01(SplitMix64& rng) { return static_cast<double>((rng.Next() >> 11) + 1) * 0x1.0p-53; }  // (0, 1]

double StandardNormal(SplitMix64& rng) {
  const double u1 = Uniform01(rng), u2 = Uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 via Gamma(shape + 1) U^(1/shape).
double Gamma(double shape, SplitMix64& rng) {
  if (shape < 1.0) return Gamma(shape + 1.0, rng) * std::pow(Uniform01(rng), 1.0 / shape);
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = StandardNormal(rng);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = Uniform01(rng);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

}  // namespace

StatusOr<std::vector<size_t>> PartitionRowsByLabel(const std::vector<int64_t>& labels, const Partition& p) {
  if (p.dirichlet_alpha <= 0 || p.weights.empty()) return PartitionRows(labels.size(), p);
  if (!std::isfinite(p.dirichlet_alpha)) return InvalidArgument("dirichlet_alpha must be finite");
  if (p.index >= p.weights.size()) {
    return InvalidArgument("partition index " + std::to_string(p.index) + " is out of range for " +
                           std::to_string(p.weights.size()) + " weights");
  }
  FL_RETURN_IF_ERROR(PartitionSizes(1, p.weights).status());  // validates the weights
  double total = 0;
  for (double w : p.weights) total += w;
  const double k = static_cast<double>(p.weights.size());
  std::map<int64_t, std::vector<size_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  std::vector<size_t> rows;
  for (auto& [c, members] : by_class) {
    const uint64_t class_seed = p.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(c) * 1000003ULL + 1;
    SplitMix64 draw(class_seed);
    std::vector<double> share(p.weights.size());
    for (size_t s = 0; s < share.size(); ++s) {
      share[s] = p.weights[s] > 0 ? Gamma(p.dirichlet_alpha * k * p.weights[s] / total, draw) : 0.0;
    }
    double sum = 0;
    for (double v : share) sum += v;
    if (!(sum > 0)) share = p.weights;  // every draw underflowed: fall back to the weights
    FL_ASSIGN_OR_RETURN(std::vector<size_t> sizes, PartitionSizes(members.size(), share));
    SplitMix64 order(class_seed ^ 0xD1B54A32D192ED03ULL);
    order.Shuffle(members);
    const size_t begin = std::accumulate(sizes.begin(), sizes.begin() + p.index, size_t{0});
    rows.insert(rows.end(), members.begin() + begin, members.begin() + begin + sizes[p.index]);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

Dataset Subset(const Dataset& d, const std::vector<size_t>& rows) {
  Dataset out;
  out.sample_shape = d.sample_shape;
  out.num_classes = d.num_classes;
  out.mask_shape = d.mask_shape;
  const size_t mask_numel = static_cast<size_t>(std::max<int64_t>(0, d.MaskNumel()));
  const bool has_masks = mask_numel > 0;
  const bool has_cases = d.cases.size() == d.size();
  const int64_t numel_signed = d.SampleNumel();
  const size_t numel = numel_signed > 0 ? static_cast<size_t>(numel_signed) : 0;
  out.labels.reserve(rows.size());
  out.features.reserve(rows.size() * numel);
  for (size_t r : rows) {
    if (r >= d.size() || (r + 1) * numel > d.features.size()) continue;
    if (has_masks && (r + 1) * mask_numel > d.masks.size()) continue;
    out.labels.push_back(d.labels[r]);
    if (has_masks) {
      const auto m = d.masks.begin() + static_cast<std::ptrdiff_t>(r * mask_numel);
      out.masks.insert(out.masks.end(), m, m + static_cast<std::ptrdiff_t>(mask_numel));
    }
    if (has_cases) out.cases.push_back(d.cases[r]);
    const auto first = d.features.begin() + static_cast<std::ptrdiff_t>(r * numel);
    out.features.insert(out.features.end(), first, first + static_cast<std::ptrdiff_t>(numel));
  }
  return out;
}

}  // namespace fl::data
