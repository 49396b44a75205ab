// Label perturbations that mimic differently-minded annotators (PerturbMask), and Dice overlap.
#include "data/morphology.h"

#include <algorithm>
#include <cctype>
#include <new>
#include <string>

#include "data/morphology_internal.h"

namespace fl::data {
namespace {

using morphology_internal::Binary;
using morphology_internal::CheckShape;
using morphology_internal::DilateImpl;
using morphology_internal::ErodeImpl;
using morphology_internal::IsBg;
using morphology_internal::IsFg;
using morphology_internal::Shape;
using morphology_internal::SquaredDistance;

// Smooth random field: uniform values in [-1, 1] on a lattice with a node every `cell`
// voxels, interpolated (tri)linearly.
class RandomField {
 public:
  RandomField(const Shape& s, int64_t cell, SplitMix64& rng) : cell_(cell) {
    const int64_t lens[3] = {s.nx, s.ny, s.nz};
    for (int a = 0; a < 3; ++a) nodes_[a] = lens[a] > 1 ? (lens[a] - 1) / cell + 2 : 1;
    values_.resize(static_cast<size_t>(nodes_[0] * nodes_[1] * nodes_[2]));
    for (double& v : values_) {
      v = static_cast<double>(rng.Next() >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
    }
  }

  double At(int64_t x, int64_t y, int64_t z) const {
    const int64_t p[3] = {x, y, z};
    int64_t lo[3], hi[3];
    double w[3];
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::min(p[a] / cell_, nodes_[a] - 1);
      hi[a] = std::min(lo[a] + 1, nodes_[a] - 1);
      w[a] = static_cast<double>(p[a] - lo[a] * cell_) / static_cast<double>(cell_);
    }
    double acc = 0;
    for (int c = 0; c < 8; ++c) {
      const int64_t ix = (c & 1) ? hi[0] : lo[0];
      const int64_t iy = (c & 2) ? hi[1] : lo[1];
      const int64_t iz = (c & 4) ? hi[2] : lo[2];
      const double wt = ((c & 1) ? w[0] : 1 - w[0]) * ((c & 2) ? w[1] : 1 - w[1]) *
                        ((c & 4) ? w[2] : 1 - w[2]);
      if (wt == 0) continue;
      acc += wt * values_[static_cast<size_t>(ix + nodes_[0] * (iy + nodes_[1] * iz))];
    }
    return acc;
  }

 private:
  int64_t cell_;
  int64_t nodes_[3];
  std::vector<double> values_;
};

// Erosion (erode = true) or dilation whose radius varies over the image: 0 where the random
// field f is <= 0, else max(1, radius * min(1, 2 f)).
std::vector<uint8_t> PatchyChange(const std::vector<uint8_t>& mask, const Shape& s, int radius,
                                  bool erode, int64_t cell, SplitMix64& rng) {
  const RandomField field(s, cell, rng);
  std::vector<uint8_t> out = Binary(mask);
  if (radius == 0) return out;
  const std::vector<double> d = erode ? SquaredDistance(mask, s, IsBg) : SquaredDistance(mask, s, IsFg);
  const double r2 = static_cast<double>(radius) * radius;
  bool changed = false, full_changes = false;
  size_t i = 0;
  for (int64_t z = 0; z < s.nz; ++z) {
    for (int64_t y = 0; y < s.ny; ++y) {
      for (int64_t x = 0; x < s.nx; ++x, ++i) {
        // Candidates: voxels the full erosion / dilation would flip.
        if (out[i] != (erode ? 1 : 0) || d[i] > r2) continue;
        full_changes = true;
        const double f = field.At(x, y, z);
        const double rho = f > 0 ? std::max(1.0, radius * std::min(1.0, 2.0 * f)) : 0.0;
        if (d[i] <= rho * rho) {
          out[i] = erode ? 0 : 1;
          changed = true;
        }
      }
    }
  }
  if (!changed && full_changes) return erode ? ErodeImpl(mask, s, radius) : DilateImpl(mask, s, radius);
  return out;
}

}  // namespace

StatusOr<Perturbation> ParsePerturbation(const std::string& name) {
  std::string n = name;
  for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "opening") return Perturbation::kOpening;
  if (n == "closing") return Perturbation::kClosing;
  if (n == "erosion" || n == "random_erosion") return Perturbation::kRandomErosion;
  if (n == "dilation" || n == "random_dilation") return Perturbation::kRandomDilation;
  return InvalidArgument("unknown label perturbation '" + name +
                         "' (expected opening, closing, random_erosion or random_dilation)");
}

const char* PerturbationName(Perturbation p) {
  switch (p) {
    case Perturbation::kOpening: return "opening";
    case Perturbation::kClosing: return "closing";
    case Perturbation::kRandomErosion: return "random_erosion";
    case Perturbation::kRandomDilation: return "random_dilation";
  }
  return "unknown";
}

StatusOr<std::vector<uint8_t>> PerturbMask(const std::vector<uint8_t>& mask,
                                           const std::vector<int64_t>& dims, Perturbation p,
                                           int min_radius, int max_radius, SplitMix64& rng,
                                           int field_cell) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "perturb"));
  if (min_radius < 0 || max_radius < min_radius) {
    return InvalidArgument("label perturbation: radius range [" + std::to_string(min_radius) +
                           ", " + std::to_string(max_radius) + "] must satisfy 0 <= min <= max");
  }
  if (field_cell < 1) {
    return InvalidArgument("label perturbation: field_cell " + std::to_string(field_cell) + " must be >= 1");
  }
  const int radius = min_radius + static_cast<int>(rng.Below(
                                      static_cast<uint64_t>(max_radius - min_radius) + 1));
  try {
    switch (p) {
      case Perturbation::kOpening: return DilateImpl(ErodeImpl(mask, s, radius), s, radius);
      case Perturbation::kClosing: return ErodeImpl(DilateImpl(mask, s, radius), s, radius);
      case Perturbation::kRandomErosion: return PatchyChange(mask, s, radius, true, field_cell, rng);
      case Perturbation::kRandomDilation: return PatchyChange(mask, s, radius, false, field_cell, rng);
    }
  } catch (const std::bad_alloc&) {
    return Internal("label perturbation: out of memory");
  }
  return InvalidArgument("label perturbation: unknown kind");
}

double DiceCoefficient(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return 0.0;
  size_t na = 0, nb = 0, both = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool x = a[i] != 0, y = b[i] != 0;
    na += x;
    nb += y;
    both += x && y;
  }
  if (na + nb == 0) return 1.0;
  return 2.0 * static_cast<double>(both) / static_cast<double>(na + nb);
}

}  // namespace fl::data
