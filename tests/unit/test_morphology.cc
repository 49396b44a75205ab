// Tests for worker/data's binary morphology and label perturbations. The fast distance-
// transform implementation is compared with a brute-force reference on random masks.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/morphology.h"
#include "data/nifti.h"
#include "data/rng.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

using fl::StatusCode;
using fl::data::Close;
using fl::data::DiceCoefficient;
using fl::data::Dilate;
using fl::data::Erode;
using fl::data::Open;
using fl::data::ParsePerturbation;
using fl::data::PerturbMask;
using fl::data::Perturbation;
using fl::data::SplitMix64;
using Mask = std::vector<uint8_t>;
using Dims = std::vector<int64_t>;

namespace {

size_t Count(const Mask& m) {
  size_t n = 0;
  for (uint8_t v : m) n += v != 0;
  return n;
}

bool SubsetOf(const Mask& a, const Mask& b) {
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] && !b[i]) return false;
  return true;
}

// Brute force with the documented conventions: outside is background for dilation and
// foreground for erosion.
Mask Reference(const Mask& m, const Dims& dims, int r, bool dilate) {
  const int64_t nz = dims.size() == 3 ? dims[0] : 1, ny = dims[dims.size() - 2], nx = dims.back();
  const int64_t rz = dims.size() == 3 ? r : 0;
  Mask out(m.size());
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const size_t i = static_cast<size_t>(x + nx * (y + ny * z));
        bool hit = false;  // dilation: some fg within r; erosion: some bg within r
        for (int64_t dz = -rz; dz <= rz && !hit; ++dz)
          for (int64_t dy = -r; dy <= r && !hit; ++dy)
            for (int64_t dx = -r; dx <= r && !hit; ++dx) {
              if (dx * dx + dy * dy + dz * dz > int64_t{r} * r) continue;
              const int64_t qx = x + dx, qy = y + dy, qz = z + dz;
              if (qx < 0 || qy < 0 || qz < 0 || qx >= nx || qy >= ny || qz >= nz) continue;
              const bool fg = m[static_cast<size_t>(qx + nx * (qy + ny * qz))] != 0;
              hit = dilate ? fg : !fg;
            }
        out[i] = dilate ? hit : (m[i] != 0 && !hit);
      }
  return out;
}

// A filled 2-D rectangle [x0, x1] x [y0, y1] in an H x W mask.
Mask Rect(int64_t h, int64_t w, int64_t x0, int64_t x1, int64_t y0, int64_t y1) {
  Mask m(static_cast<size_t>(h * w));
  for (int64_t y = y0; y <= y1; ++y)
    for (int64_t x = x0; x <= x1; ++x) m[static_cast<size_t>(x + w * y)] = 1;
  return m;
}

// A 3-D ball of the given radius (voxels) centred in an n^3 mask.
Mask Ball(int64_t n, double radius) {
  Mask m(static_cast<size_t>(n * n * n));
  const double c = (n - 1) / 2.0;
  for (int64_t z = 0; z < n; ++z)
    for (int64_t y = 0; y < n; ++y)
      for (int64_t x = 0; x < n; ++x) {
        const double d2 = (x - c) * (x - c) + (y - c) * (y - c) + (z - c) * (z - c);
        m[static_cast<size_t>(x + n * (y + n * z))] = d2 <= radius * radius;
      }
  return m;
}

}  // namespace

TEST_CASE("morphology: erosion and dilation of squares and cubes", "[data][morphology]") {
  const Dims d2{9, 9};
  const Mask square = Rect(9, 9, 2, 6, 2, 6);  // 5x5
  auto e = Erode(square, d2, 1);
  REQUIRE(e.ok());
  CHECK(*e == Rect(9, 9, 3, 5, 3, 5));  // 3x3
  auto d = Dilate(square, d2, 1);
  REQUIRE(d.ok());
  CHECK(Count(*d) == 25 + 4 * 5);  // the radius-1 disk is the 4-neighbour cross
  CHECK(SubsetOf(square, *d));
  auto d_2 = Dilate(square, d2, 2);
  REQUIRE(d_2.ok());
  // Radius 2 adds 2 rows on each side plus the (1,1) diagonal at each corner.
  CHECK(Count(*d_2) == 25 + 4 * 10 + 4);

  const Dims d3{11, 11, 11};
  Mask cube(11 * 11 * 11);
  for (int z = 2; z <= 8; ++z)
    for (int y = 2; y <= 8; ++y)
      for (int x = 2; x <= 8; ++x) cube[static_cast<size_t>(x + 11 * (y + 11 * z))] = 1;
  for (int r = 1; r <= 3; ++r) {
    auto ec = Erode(cube, d3, r);
    REQUIRE(ec.ok());
    const size_t side = static_cast<size_t>(7 - 2 * r);
    CHECK(Count(*ec) == side * side * side);
  }
  auto big = Erode(cube, d3, 4);
  REQUIRE(big.ok());
  CHECK(Count(*big) == 0);
}

TEST_CASE("morphology: distance-transform results equal brute force", "[data][morphology]") {
  SplitMix64 rng(42);
  const std::vector<Dims> shapes = {{17, 23}, {1, 9}, {9, 1}, {6, 11, 13}, {1, 7, 8}, {5, 1, 1}};
  for (const Dims& dims : shapes) {
    size_t n = 1;
    for (int64_t x : dims) n *= static_cast<size_t>(x);
    for (int density : {10, 50, 90}) {
      Mask m(n);
      for (auto& v : m) v = rng.Below(100) < static_cast<uint64_t>(density) ? static_cast<uint8_t>(1 + rng.Below(3)) : 0;
      for (int r = 0; r <= 4; ++r) {
        INFO("dims size " << dims.size() << " density " << density << " r " << r);
        auto d = Dilate(m, dims, r);
        auto e = Erode(m, dims, r);
        REQUIRE(d.ok());
        REQUIRE(e.ok());
        CHECK(*d == Reference(m, dims, r, true));
        CHECK(*e == Reference(m, dims, r, false));
        auto o = Open(m, dims, r);
        auto c = Close(m, dims, r);
        REQUIRE(o.ok());
        REQUIRE(c.ok());
        CHECK(*o == Reference(Reference(m, dims, r, false), dims, r, true));
        CHECK(SubsetOf(*o, m));
        CHECK(SubsetOf(m, *c));
      }
    }
  }
  // Empty and full masks.
  const Mask empty(20), full(20, 1);
  CHECK(*Dilate(empty, {4, 5}, 2) == empty);
  CHECK(*Erode(full, {4, 5}, 2) == full);  // outside counts as foreground for erosion
  CHECK(*Dilate(full, {4, 5}, 2) == full);
  CHECK(*Erode(empty, {4, 5}, 2) == empty);
}

TEST_CASE("morphology: opening removes spurs, closing fills holes", "[data][morphology]") {
  const Dims dims{15, 20};
  Mask m = Rect(15, 20, 2, 10, 3, 11);  // 9x9 blob
  for (int x = 11; x <= 17; ++x) m[static_cast<size_t>(x + 20 * 7)] = 1;  // 1-pixel spur
  auto o = Open(m, dims, 1);
  REQUIRE(o.ok());
  // (11, 7) survives: it is in the cross around (10, 7), which the erosion keeps.
  for (int x = 12; x <= 17; ++x) CHECK((*o)[static_cast<size_t>(x + 20 * 7)] == 0);
  CHECK(Count(*o) >= 81 - 4);  // the blob stays (a radius-1 opening only cuts its corners)
  CHECK(SubsetOf(*o, m));

  Mask holed = Rect(15, 20, 2, 10, 3, 11);
  holed[static_cast<size_t>(6 + 20 * 7)] = 0;
  auto c = Close(holed, dims, 1);
  REQUIRE(c.ok());
  CHECK((*c)[static_cast<size_t>(6 + 20 * 7)] == 1);
  CHECK(*c == Rect(15, 20, 2, 10, 3, 11));

  // An object touching the border is not eaten by closing.
  const Mask border = Rect(15, 20, 0, 4, 0, 14);
  auto cb = Close(border, dims, 3);
  REQUIRE(cb.ok());
  CHECK(*cb == border);

  // r = 0 is the identity (on the binarised mask).
  Mask multi = m;
  multi[0] = 3;
  for (auto* op : {&Erode, &Dilate, &Open, &Close}) {
    auto r0 = (*op)(multi, dims, 0);
    REQUIRE(r0.ok());
    Mask bin = multi;
    for (auto& v : bin) v = v != 0;
    CHECK(*r0 == bin);
  }
}

TEST_CASE("morphology: bad arguments are rejected", "[data][morphology]") {
  const Mask m(12, 1);
  CHECK(Erode(m, {12}, 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(Erode(m, {1, 2, 2, 3}, 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(Dilate(m, {3, 5}, 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(Open(m, {0, 12}, 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(Close(m, {-3, -4}, 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(Close(m, {3, 4}, -1).status().code() == StatusCode::kInvalidArgument);
  SplitMix64 rng(1);
  CHECK(PerturbMask(m, {3, 4}, Perturbation::kOpening, 2, 1, rng).status().code() == StatusCode::kInvalidArgument);
  CHECK(PerturbMask(m, {3, 4}, Perturbation::kOpening, -1, 1, rng).status().code() == StatusCode::kInvalidArgument);
  CHECK(PerturbMask(m, {3, 4}, Perturbation::kRandomErosion, 1, 1, rng, 0).status().code() == StatusCode::kInvalidArgument);
  CHECK(PerturbMask(m, {4, 4}, Perturbation::kClosing, 1, 1, rng).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("morphology: perturbation names", "[data][morphology]") {
  CHECK(*ParsePerturbation("opening") == Perturbation::kOpening);
  CHECK(*ParsePerturbation("closing") == Perturbation::kClosing);
  CHECK(*ParsePerturbation("erosion") == Perturbation::kRandomErosion);
  CHECK(*ParsePerturbation("random_erosion") == Perturbation::kRandomErosion);
  CHECK(*ParsePerturbation("Dilation") == Perturbation::kRandomDilation);
  CHECK(*ParsePerturbation("random_dilation") == Perturbation::kRandomDilation);
  auto bad = ParsePerturbation("blur");
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(bad.status().message(), Catch::Matchers::Contains("blur"));
  for (Perturbation p : {Perturbation::kOpening, Perturbation::kClosing, Perturbation::kRandomErosion,
                         Perturbation::kRandomDilation}) {
    CHECK(*ParsePerturbation(fl::data::PerturbationName(p)) == p);
  }
}

TEST_CASE("morphology: random erosion and dilation", "[data][morphology]") {
  const Dims dims{40, 40, 40};
  const Mask ball = Ball(40, 12.0);
  for (int seed = 1; seed <= 5; ++seed) {
    SplitMix64 a(seed), b(seed), other(seed + 100);
    auto e = PerturbMask(ball, dims, Perturbation::kRandomErosion, 1, 3, a);
    auto e2 = PerturbMask(ball, dims, Perturbation::kRandomErosion, 1, 3, b);
    auto e3 = PerturbMask(ball, dims, Perturbation::kRandomErosion, 1, 3, other);
    REQUIRE(e.ok());
    REQUIRE(e2.ok());
    REQUIRE(e3.ok());
    CHECK(*e == *e2);
    CHECK(*e != *e3);
    CHECK(SubsetOf(*e, ball));
    CHECK(*e != ball);
    // Only part of the boundary moves: more than the full erosion by 1 survives on average.
    const double dice = DiceCoefficient(*e, ball);
    CHECK(dice > 0.6);
    CHECK(dice < 0.995);

    auto d = PerturbMask(ball, dims, Perturbation::kRandomDilation, 1, 3, a);
    REQUIRE(d.ok());
    CHECK(SubsetOf(ball, *d));
    CHECK(*d != ball);
  }
  // 2-D masks, and a mask too small for the field's patches to hit: still changed.
  const Mask dot = Rect(30, 30, 14, 15, 14, 15);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SplitMix64 rng(seed);
    auto e = PerturbMask(dot, {30, 30}, Perturbation::kRandomErosion, 1, 1, rng);
    REQUIRE(e.ok());
    CHECK(SubsetOf(*e, dot));
    CHECK(*e != dot);
    auto d = PerturbMask(dot, {30, 30}, Perturbation::kRandomDilation, 1, 1, rng);
    REQUIRE(d.ok());
    CHECK(SubsetOf(dot, *d));
    CHECK(*d != dot);
  }
  // Opening and closing apply the drawn radius.
  SplitMix64 r1(3), r2(3);
  auto po = PerturbMask(ball, dims, Perturbation::kOpening, 2, 2, r1);
  REQUIRE(po.ok());
  CHECK(*po == *Open(ball, dims, 2));
  auto pc = PerturbMask(ball, dims, Perturbation::kClosing, 2, 2, r2);
  REQUIRE(pc.ok());
  CHECK(*pc == *Close(ball, dims, 2));
  // Radius 0 changes nothing.
  SplitMix64 r0(9);
  CHECK(*PerturbMask(ball, dims, Perturbation::kRandomDilation, 0, 0, r0) == ball);
}

TEST_CASE("morphology: Dice coefficient", "[data][morphology]") {
  CHECK(DiceCoefficient({}, {}) == 1.0);
  CHECK(DiceCoefficient({0, 0}, {0, 0}) == 1.0);
  CHECK(DiceCoefficient({1, 2, 0}, {3, 1, 0}) == 1.0);
  CHECK(DiceCoefficient({1, 0}, {0, 1}) == 0.0);
  CHECK(DiceCoefficient({1, 1, 0, 0}, {1, 0, 1, 0}) == 0.5);
  CHECK(DiceCoefficient({1, 1, 1}, {1, 0, 0}) == Approx(0.5));
  CHECK(DiceCoefficient({1}, {1, 1}) == 0.0);
}

TEST_CASE("morphology: random erosion of a real left-atrium label", "[data][morphology]") {
  const std::string root = std::string(FL_SHARED_DATA_DIR) + "/left_atrium";
  if (!std::filesystem::exists(root + "/volumes") || !std::filesystem::exists(root + "/train.list")) {
    WARN("skipped: missing " << root << "/volumes");
    return;
  }
  std::ifstream list(root + "/train.list");
  std::string id;
  std::getline(list, id);
  while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
  auto label = fl::data::ReadNifti(root + "/volumes/" + id + "_label.nii.gz");
  REQUIRE(label.ok());
  Mask m(label->data.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = label->data[i] != 0;
  const Dims dims{label->dims[2], label->dims[1], label->dims[0]};
  SplitMix64 rng(2024);
  auto e = PerturbMask(m, dims, Perturbation::kRandomErosion, 1, 3, rng);
  REQUIRE(e.ok());
  CHECK(SubsetOf(*e, m));
  const double dice = DiceCoefficient(*e, m);
  CHECK(dice > 0.5);
  CHECK(dice < 0.99);
  auto d = PerturbMask(m, dims, Perturbation::kRandomDilation, 1, 3, rng);
  REQUIRE(d.ok());
  CHECK(SubsetOf(m, *d));
  CHECK(DiceCoefficient(*d, m) > 0.5);
  CHECK(DiceCoefficient(*d, m) < 0.99);
  auto dil = Dilate(m, dims, 3);
  REQUIRE(dil.ok());
  CHECK(Count(*dil) > Count(m));
}
