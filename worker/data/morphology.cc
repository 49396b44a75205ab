// Morphology through exact squared Euclidean distance transforms (Felzenszwalb and
// Huttenlocher, "Distance Transforms of Sampled Functions", 2012): a voxel is within the
// dilation by the ball of radius r iff its squared distance to the nearest foreground voxel
// is <= r^2, and within the erosion iff its squared distance to the nearest in-image
// background voxel is > r^2. Both are linear in the number of voxels, whatever r.
#include "data/morphology.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <limits>
#include <new>

namespace fl::data {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A validated shape as {nz, ny, nx} (nz = 1 for 2-D masks).
struct Shape {
  int64_t nz = 1, ny = 1, nx = 1;
  size_t size() const { return static_cast<size_t>(nz * ny * nx); }
};

StatusOr<Shape> CheckShape(const std::vector<uint8_t>& mask, const std::vector<int64_t>& dims,
                           const char* op) {
  const std::string what = std::string("morphology (") + op + ")";
  if (dims.size() != 2 && dims.size() != 3) {
    return InvalidArgument(what + ": dims must have 2 entries {H, W} or 3 {nz, ny, nx}, got " +
                           std::to_string(dims.size()));
  }
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 1 || d > (int64_t{1} << 31)) {
      return InvalidArgument(what + ": extent " + std::to_string(d) + " out of range");
    }
    n *= d;
    if (n > (int64_t{1} << 33)) return InvalidArgument(what + ": mask too large");
  }
  if (mask.size() != static_cast<size_t>(n)) {
    return InvalidArgument(what + ": mask has " + std::to_string(mask.size()) +
                           " values but dims give " + std::to_string(n));
  }
  Shape s;
  if (dims.size() == 3) s.nz = dims[0];
  s.ny = dims[dims.size() - 2];
  s.nx = dims[dims.size() - 1];
  return s;
}

Status CheckRadius(int radius, const char* op) {
  if (radius < 0) {
    return InvalidArgument(std::string("morphology (") + op + "): radius " +
                           std::to_string(radius) + " must be >= 0");
  }
  return Status::Ok();
}

// Lower envelope of the parabolas (q - v)^2 + f(v) over the finite samples of one line:
// out[q] = min_v (q - v)^2 + f(v), +inf when every sample is infinite.
class Envelope1D {
 public:
  void Run(const double* f, double* out, int64_t n) {
    v_.resize(static_cast<size_t>(n));
    z_.resize(static_cast<size_t>(n) + 1);
    int64_t k = -1;
    for (int64_t q = 0; q < n; ++q) {
      if (f[q] == kInf) continue;
      const double fq = f[q] + static_cast<double>(q) * static_cast<double>(q);
      if (k < 0) {
        k = 0;
        v_[0] = q;
        z_[0] = -kInf;
        z_[1] = kInf;
        continue;
      }
      double s = 0;
      while (true) {
        const int64_t p = v_[static_cast<size_t>(k)];
        s = (fq - (f[p] + static_cast<double>(p) * static_cast<double>(p))) /
            (2.0 * static_cast<double>(q - p));
        if (s > z_[static_cast<size_t>(k)] || k == 0) break;
        --k;
      }
      // With z_[0] = -inf the loop stops at k = 0 with s > z_[0] unless s is -inf.
      if (s <= z_[static_cast<size_t>(k)]) {
        v_[static_cast<size_t>(k)] = q;  // unreachable for finite inputs; kept for safety
        z_[static_cast<size_t>(k) + 1] = kInf;
        continue;
      }
      ++k;
      v_[static_cast<size_t>(k)] = q;
      z_[static_cast<size_t>(k)] = s;
      z_[static_cast<size_t>(k) + 1] = kInf;
    }
    if (k < 0) {
      std::fill(out, out + n, kInf);
      return;
    }
    int64_t j = 0;
    for (int64_t q = 0; q < n; ++q) {
      while (z_[static_cast<size_t>(j) + 1] < static_cast<double>(q)) ++j;
      const int64_t p = v_[static_cast<size_t>(j)];
      const double d = static_cast<double>(q - p);
      out[q] = d * d + f[p];
    }
  }

 private:
  std::vector<int64_t> v_;
  std::vector<double> z_;
};

// Squared Euclidean distance from every voxel to the nearest voxel where `target(mask[i])`
// holds, +inf when there is none.
template <typename Pred>
std::vector<double> SquaredDistance(const std::vector<uint8_t>& mask, const Shape& s, Pred target) {
  std::vector<double> d(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) d[i] = target(mask[i]) ? 0.0 : kInf;
  const int64_t lens[3] = {s.nx, s.ny, s.nz};
  const int64_t strides[3] = {1, s.nx, s.nx * s.ny};
  Envelope1D env;
  std::vector<double> in, out;
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t n = lens[axis], stride = strides[axis];
    if (n == 1) continue;
    in.resize(static_cast<size_t>(n));
    out.resize(static_cast<size_t>(n));
    const int64_t lines = static_cast<int64_t>(mask.size()) / n;
    for (int64_t line = 0; line < lines; ++line) {
      // Start of the line-th line along `axis`: split line into (outer, inner) around it.
      const int64_t inner = line % stride, outer = line / stride;
      const int64_t base = outer * stride * n + inner;
      bool any = false;
      for (int64_t q = 0; q < n; ++q) {
        in[q] = d[static_cast<size_t>(base + q * stride)];
        any = any || in[q] != kInf;
      }
      if (!any) continue;
      env.Run(in.data(), out.data(), n);
      for (int64_t q = 0; q < n; ++q) d[static_cast<size_t>(base + q * stride)] = out[q];
    }
  }
  return d;
}

bool IsFg(uint8_t v) { return v != 0; }
bool IsBg(uint8_t v) { return v == 0; }

std::vector<uint8_t> Binary(const std::vector<uint8_t>& mask) {
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] != 0;
  return out;
}

std::vector<uint8_t> DilateImpl(const std::vector<uint8_t>& mask, const Shape& s, int r) {
  if (r == 0) return Binary(mask);
  const std::vector<double> d = SquaredDistance(mask, s, IsFg);
  const double r2 = static_cast<double>(r) * r;
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = d[i] <= r2;
  return out;
}

std::vector<uint8_t> ErodeImpl(const std::vector<uint8_t>& mask, const Shape& s, int r) {
  if (r == 0) return Binary(mask);
  const std::vector<double> d = SquaredDistance(mask, s, IsBg);
  const double r2 = static_cast<double>(r) * r;
  std::vector<uint8_t> out(mask.size());
  for (size_t i = 0; i < mask.size(); ++i) out[i] = mask[i] != 0 && d[i] > r2;
  return out;
}

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

StatusOr<std::vector<uint8_t>> Erode(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "erode"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "erode"));
  try {
    return ErodeImpl(mask, s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (erode): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Dilate(const std::vector<uint8_t>& mask,
                                      const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "dilate"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "dilate"));
  try {
    return DilateImpl(mask, s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (dilate): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Open(const std::vector<uint8_t>& mask,
                                    const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "open"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "open"));
  try {
    return DilateImpl(ErodeImpl(mask, s, radius), s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (open): out of memory");
  }
}

StatusOr<std::vector<uint8_t>> Close(const std::vector<uint8_t>& mask,
                                     const std::vector<int64_t>& dims, int radius) {
  FL_ASSIGN_OR_RETURN(const Shape s, CheckShape(mask, dims, "close"));
  FL_RETURN_IF_ERROR(CheckRadius(radius, "close"));
  try {
    return ErodeImpl(DilateImpl(mask, s, radius), s, radius);
  } catch (const std::bad_alloc&) {
    return Internal("morphology (close): out of memory");
  }
}

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
