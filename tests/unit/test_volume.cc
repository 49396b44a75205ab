// Tests for worker/data's volume preprocessing: resampling, cropping/padding, z-scoring and
// the conversion between volumes and 2-D slice datasets.
#include <catch2/catch.hpp>

#include <nifti1_io.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "data/rng.h"
#include "data/volume.h"

using fl::StatusCode;
using fl::data::CentreOf;
using fl::data::CropOrPad;
using fl::data::ForegroundCentre;
using fl::data::Interp;
using fl::data::ResampleToSpacing;
using fl::data::SlicesToVolume;
using fl::data::Volume;
using fl::data::VolumesToSlices;
using fl::data::ZScore;

namespace {

template <typename F>
Volume MakeVolume(std::array<int64_t, 3> dims, std::array<double, 3> spacing, F f) {
  Volume v;
  v.dims = dims;
  v.spacing = spacing;
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) v.data.push_back(f(x, y, z));
  auto& g = v.geometry;
  for (int a = 0; a < 3; ++a) g.pixdim[a + 1] = static_cast<float>(spacing[a]);
  g.qfac = -1;
  g.pixdim[0] = -1;
  g.qform_code = 1;
  g.sform_code = 1;
  g.quatern_b = 0.2f, g.quatern_c = 0.1f, g.quatern_d = -0.3f;
  g.qoffset_x = 5, g.qoffset_y = -7, g.qoffset_z = 11;
  g.srow_x = {static_cast<float>(spacing[0]), 0.2f, 0, 5};
  g.srow_y = {0.1f, static_cast<float>(spacing[1]), 0, -7};
  g.srow_z = {0, 0.3f, static_cast<float>(spacing[2]), 11};
  return v;
}

// World position of voxel coordinate p through the qform (via nifticlib) and the sform.
std::array<double, 3> QformWorld(const Volume& v, const std::array<double, 3>& p) {
  const auto& g = v.geometry;
  const mat44 m = nifti_quatern_to_mat44(g.quatern_b, g.quatern_c, g.quatern_d, g.qoffset_x,
                                         g.qoffset_y, g.qoffset_z, g.pixdim[1], g.pixdim[2],
                                         g.pixdim[3], g.qfac);
  std::array<double, 3> w{};
  for (int r = 0; r < 3; ++r) w[r] = m.m[r][0] * p[0] + m.m[r][1] * p[1] + m.m[r][2] * p[2] + m.m[r][3];
  return w;
}
std::array<double, 3> SformWorld(const Volume& v, const std::array<double, 3>& p) {
  const auto& g = v.geometry;
  std::array<double, 3> w{};
  const std::array<float, 4>* rows[3] = {&g.srow_x, &g.srow_y, &g.srow_z};
  for (int r = 0; r < 3; ++r) w[r] = (*rows[r])[0] * p[0] + (*rows[r])[1] * p[1] + (*rows[r])[2] * p[2] + (*rows[r])[3];
  return w;
}

}  // namespace

TEST_CASE("volume: linear resampling preserves a linear ramp", "[data][volume]") {
  auto ramp = [](double x, double y, double z) { return 2.0 * x + 3.0 * y - z + 1.0; };
  const Volume v = MakeVolume({12, 9, 7}, {1.0, 1.0, 1.0}, [&](int64_t x, int64_t y, int64_t z) {
    return static_cast<float>(ramp(static_cast<double>(x), static_cast<double>(y), static_cast<double>(z)));
  });
  const std::array<double, 3> target{0.5, 2.0, 1.5};
  auto r = ResampleToSpacing(v, target, Interp::kLinear);
  REQUIRE(r.ok());
  CHECK(r->dims == std::array<int64_t, 3>{24, 5, 5});  // 12/0.5, round(4.5) = 5, round(4.67) = 5
  CHECK(r->spacing == target);
  CHECK(r->data.size() == 24u * 5u * 5u);
  int interior = 0;
  for (int64_t z = 0; z < r->dims[2]; ++z) {
    for (int64_t y = 0; y < r->dims[1]; ++y) {
      for (int64_t x = 0; x < r->dims[0]; ++x) {
        const double cx = (x + 0.5) * 0.5 - 0.5, cy = (y + 0.5) * 2.0 - 0.5, cz = (z + 0.5) * 1.5 - 0.5;
        if (cx < 0 || cx > 11 || cy < 0 || cy > 8 || cz < 0 || cz > 6) continue;
        ++interior;
        CHECK(r->data[r->Index(x, y, z)] == Approx(ramp(cx, cy, cz)).margin(1e-4));
      }
    }
  }
  CHECK(interior > 200);

  // Same spacing: an exact copy with identical geometry.
  for (Interp i : {Interp::kLinear, Interp::kNearest}) {
    auto same = ResampleToSpacing(v, v.spacing, i);
    REQUIRE(same.ok());
    CHECK(same->data == v.data);
    CHECK(same->geometry.srow_x == v.geometry.srow_x);
    CHECK(same->geometry.qoffset_z == v.geometry.qoffset_z);
  }
}

TEST_CASE("volume: resampling keeps the physical position of voxel centres", "[data][volume]") {
  const Volume v = MakeVolume({10, 8, 6}, {1.25, 1.25, 0.625}, [](int64_t x, int64_t, int64_t) { return static_cast<float>(x); });
  auto r = ResampleToSpacing(v, {1.0, 2.5, 1.0}, Interp::kLinear);
  REQUIRE(r.ok());
  CHECK(r->dims == std::array<int64_t, 3>{13, 4, 4});  // 12.5 -> 13, 4, 3.75 -> 4
  CHECK(r->geometry.pixdim[1] == 1.0f);
  CHECK(r->geometry.pixdim[2] == 2.5f);
  for (const std::array<double, 3> p : {std::array<double, 3>{0, 0, 0}, {3, 2, 1}, {12, 3, 3}}) {
    // Output voxel p sits at input voxel coordinate (p + 0.5) * new / old - 0.5.
    std::array<double, 3> in{};
    for (int a = 0; a < 3; ++a) in[a] = (p[a] + 0.5) * r->spacing[a] / v.spacing[a] - 0.5;
    const auto wq_out = QformWorld(*r, p), wq_in = QformWorld(v, in);
    const auto ws_out = SformWorld(*r, p), ws_in = SformWorld(v, in);
    for (int a = 0; a < 3; ++a) {
      CHECK(wq_out[a] == Approx(wq_in[a]).margin(1e-4));
      CHECK(ws_out[a] == Approx(ws_in[a]).margin(1e-4));
    }
  }
}

TEST_CASE("volume: nearest resampling of labels and dims rounding", "[data][volume]") {
  fl::data::SplitMix64 rng(7);
  const float classes[3] = {0, 3, 7};
  const Volume label = MakeVolume({9, 11, 5}, {1, 1, 1}, [&](int64_t, int64_t, int64_t) { return classes[rng.Below(3)]; });
  auto r = ResampleToSpacing(label, {0.7, 1.3, 0.9}, Interp::kNearest);
  REQUIRE(r.ok());
  CHECK(r->dims == std::array<int64_t, 3>{13, 8, 6});  // 12.86, 8.46, 5.56
  std::set<float> seen(r->data.begin(), r->data.end());
  for (float x : seen) CHECK((x == 0 || x == 3 || x == 7));
  CHECK(seen.size() == 3);

  // Each output dimension is at least 1.
  const Volume tiny = MakeVolume({1, 2, 3}, {1, 1, 1}, [](int64_t, int64_t, int64_t) { return 1.0f; });
  auto t = ResampleToSpacing(tiny, {10, 10, 10}, Interp::kLinear);
  REQUIRE(t.ok());
  CHECK(t->dims == std::array<int64_t, 3>{1, 1, 1});
  CHECK(t->data == std::vector<float>{1.0f});

  CHECK(ResampleToSpacing(label, {0, 1, 1}, Interp::kLinear).status().code() == StatusCode::kInvalidArgument);
  CHECK(ResampleToSpacing(label, {1, NAN, 1}, Interp::kLinear).status().code() == StatusCode::kInvalidArgument);
  CHECK(ResampleToSpacing(label, {1e-9, 1, 1}, Interp::kLinear).status().code() == StatusCode::kInvalidArgument);
  Volume broken = label;
  broken.data.pop_back();
  CHECK(ResampleToSpacing(broken, {1, 1, 1}, Interp::kLinear).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("volume: crop, pad and foreground centre", "[data][volume]") {
  auto f = [](int64_t x, int64_t y, int64_t z) { return static_cast<float>(x + 100 * y + 10000 * z); };
  const Volume v = MakeVolume({10, 8, 6}, {1.25, 1.25, 0.625}, f);

  auto c = CropOrPad(v, {3, 3, 3}, {5, 4, 3}, -1.0f);
  REQUIRE(c.ok());
  CHECK(c->dims == std::array<int64_t, 3>{3, 3, 3});
  CHECK(c->spacing == v.spacing);
  for (int64_t z = 0; z < 3; ++z)
    for (int64_t y = 0; y < 3; ++y)
      for (int64_t x = 0; x < 3; ++x) CHECK(c->data[c->Index(x, y, z)] == f(x + 4, y + 3, z + 2));
  // The crop's voxel (0,0,0) is at the source's (4,3,2).
  const auto a = QformWorld(*c, {0, 0, 0}), b = QformWorld(v, {4, 3, 2});
  const auto as = SformWorld(*c, {1, 2, 0}), bs = SformWorld(v, {5, 5, 2});
  for (int k = 0; k < 3; ++k) {
    CHECK(a[k] == Approx(b[k]).margin(1e-4));
    CHECK(as[k] == Approx(bs[k]).margin(1e-4));
  }

  // Off the edge: outside voxels take the fill value.
  auto edge = CropOrPad(v, {4, 2, 2}, {0, 0, 0}, -7.0f);
  REQUIRE(edge.ok());
  CHECK(edge->data[edge->Index(0, 0, 0)] == -7.0f);  // source (-2, -1, -1)
  CHECK(edge->data[edge->Index(3, 1, 1)] == f(1, 0, 0));
  CHECK(edge->data[edge->Index(2, 1, 1)] == f(0, 0, 0));
  CHECK(edge->data[edge->Index(2, 0, 1)] == -7.0f);
  auto away = CropOrPad(v, {2, 2, 2}, {100, 100, 100}, 3.0f);
  REQUIRE(away.ok());
  CHECK(away->data == std::vector<float>(8, 3.0f));

  // Identity and pad-then-crop round trips.
  auto same = CropOrPad(v, v.dims, CentreOf(v), 0.0f);
  REQUIRE(same.ok());
  CHECK(same->data == v.data);
  CHECK(same->geometry.srow_y == v.geometry.srow_y);
  auto padded = CropOrPad(v, {16, 13, 9}, CentreOf(v), -1.0f);
  REQUIRE(padded.ok());
  size_t fill = 0;
  for (float x : padded->data) fill += x == -1.0f;
  CHECK(fill == padded->data.size() - v.data.size());
  auto back = CropOrPad(*padded, v.dims, CentreOf(*padded), -2.0f);
  REQUIRE(back.ok());
  CHECK(back->data == v.data);
  CHECK(back->geometry.qoffset_x == Approx(v.geometry.qoffset_x).margin(1e-4));
  CHECK(back->geometry.srow_z[3] == Approx(v.geometry.srow_z[3]).margin(1e-4));

  CHECK(CropOrPad(v, {0, 3, 3}, {1, 1, 1}, 0).status().code() == StatusCode::kInvalidArgument);
  CHECK(CropOrPad(v, {3, 3, 3}, {INT64_MAX, INT64_MIN, 0}, 0).ok());

  Volume label = MakeVolume({10, 8, 6}, {1, 1, 1}, [](int64_t x, int64_t y, int64_t z) {
    return static_cast<float>(x >= 2 && x <= 7 && y >= 1 && y <= 3 && z == 4 ? 1 : 0);
  });
  CHECK(ForegroundCentre(label) == std::array<int64_t, 3>{4, 2, 4});
  std::fill(label.data.begin(), label.data.end(), 0.0f);
  CHECK(ForegroundCentre(label) == std::array<int64_t, 3>{5, 4, 3});
  CHECK(CentreOf(label) == std::array<int64_t, 3>{5, 4, 3});
}

TEST_CASE("volume: z-scoring with and without a mask", "[data][volume]") {
  std::vector<float> v = {1, 2, 3, 4, 5, 6, 7, 8};
  ZScore(v);
  double sum = 0, ss = 0;
  for (float x : v) sum += x, ss += static_cast<double>(x) * x;
  CHECK(sum / 8 == Approx(0).margin(1e-6));
  CHECK(ss / 8 == Approx(1.0).epsilon(1e-5));

  std::vector<float> constant(5, 4.0f);
  ZScore(constant);
  CHECK(constant == std::vector<float>(5, 0.0f));

  std::vector<float> m = {1, 2, 3, 100};
  const std::vector<uint8_t> mask = {1, 1, 1, 0};
  ZScore(m, &mask);
  const double sd = std::sqrt(2.0 / 3.0);
  CHECK(m[0] == Approx(-1 / sd));
  CHECK(m[1] == Approx(0).margin(1e-6));
  CHECK(m[3] == Approx(98 / sd));

  std::vector<float> u = {1, 2, 3};
  const std::vector<uint8_t> wrong = {1, 1};
  ZScore(u, &wrong);
  CHECK(u == std::vector<float>{1, 2, 3});
  const std::vector<uint8_t> none = {0, 0, 0};
  ZScore(u, &none);
  CHECK(u == std::vector<float>{1, 2, 3});
}

TEST_CASE("volume: volumes to slices and back", "[data][volume]") {
  auto img = [](int64_t x, int64_t y, int64_t z) { return static_cast<float>(x + 10 * y + 100 * z); };
  auto lab = [](int64_t x, int64_t y, int64_t z) { return static_cast<float>(z == 2 && x == 1 ? 1 + y % 2 : 0); };
  const std::vector<Volume> images = {MakeVolume({4, 3, 5}, {1, 1, 1}, img), MakeVolume({4, 3, 4}, {1, 1, 1}, img)};
  const std::vector<Volume> labels = {MakeVolume({4, 3, 5}, {1, 1, 1}, lab), MakeVolume({4, 3, 4}, {1, 1, 1}, lab)};

  auto d = VolumesToSlices(images, labels, 2, 2, 3);
  REQUIRE(d.ok());
  // Volume 0 keeps z = 0, 2, 4; volume 1 keeps z = 0, 2.
  REQUIRE(d->size() == 5);
  CHECK(d->sample_shape == std::vector<int64_t>{1, 3, 4});
  CHECK(d->mask_shape == std::vector<int64_t>{3, 4});
  CHECK(d->num_classes == 3);
  CHECK(d->cases == std::vector<int32_t>{0, 0, 0, 1, 1});
  CHECK(d->labels == std::vector<int64_t>{0, 1, 0, 0, 1});
  CHECK(d->features.size() == 5u * 12u);
  CHECK(d->masks.size() == 5u * 12u);
  // Sample 1 is z = 2 of volume 0: row y, column x.
  for (int64_t y = 0; y < 3; ++y) {
    for (int64_t x = 0; x < 4; ++x) {
      CHECK(d->features[12 + y * 4 + x] == img(x, y, 2));
      CHECK(d->masks[12 + y * 4 + x] == lab(x, y, 2));
    }
  }
  CHECK(d->features[4 * 12 + 0] == img(0, 0, 2));  // last sample: volume 1, z = 2

  // Other axes: shapes and layout.
  auto d1 = VolumesToSlices({images[0]}, {labels[0]}, 1, 1, 3);
  REQUIRE(d1.ok());
  CHECK(d1->size() == 3);
  CHECK(d1->sample_shape == std::vector<int64_t>{1, 5, 4});
  CHECK(d1->features[1 * 20 + 2 * 4 + 3] == img(3, 1, 2));  // slice y = 1, row z = 2, column x = 3
  auto d0 = VolumesToSlices({images[0]}, {labels[0]}, 0, 1, 3);
  REQUIRE(d0.ok());
  CHECK(d0->size() == 4);
  CHECK(d0->sample_shape == std::vector<int64_t>{1, 5, 3});
  CHECK(d0->features[3 * 15 + 4 * 3 + 2] == img(3, 2, 4));  // slice x = 3, row z = 4, column y = 2

  // Inverse for every axis with stride 1.
  for (int axis = 0; axis < 3; ++axis) {
    auto s = VolumesToSlices({images[0]}, {labels[0]}, axis, 1, 3);
    REQUIRE(s.ok());
    auto back = SlicesToVolume(labels[0], s->masks, axis);
    REQUIRE(back.ok());
    CHECK(back->data == labels[0].data);
    CHECK(back->dims == labels[0].dims);
    CHECK(back->geometry.srow_x == labels[0].geometry.srow_x);
  }
  Volume like;
  like.dims = {4, 3, 5};  // a template needs no data
  CHECK(SlicesToVolume(like, std::vector<uint8_t>(60, 1), 2).ok());
  CHECK(SlicesToVolume(like, std::vector<uint8_t>(59, 1), 2).status().code() == StatusCode::kInvalidArgument);
  CHECK(SlicesToVolume(like, std::vector<uint8_t>(60, 1), 3).status().code() == StatusCode::kInvalidArgument);

  // Errors.
  CHECK(VolumesToSlices(images, {labels[0]}, 2, 1, 3).status().code() == StatusCode::kInvalidArgument);
  CHECK(VolumesToSlices(images, labels, 2, 1, 2).status().code() == StatusCode::kInvalidArgument);  // label 2
  CHECK(VolumesToSlices({images[0]}, {labels[1]}, 2, 1, 3).status().code() == StatusCode::kInvalidArgument);
  CHECK(VolumesToSlices(images, labels, 3, 1, 3).status().code() == StatusCode::kInvalidArgument);
  CHECK(VolumesToSlices(images, labels, 2, 0, 3).status().code() == StatusCode::kInvalidArgument);
  CHECK(VolumesToSlices(images, labels, 2, 1, 0).status().code() == StatusCode::kInvalidArgument);
  // Slices of different shapes (axis 1 slices are nz x nx: 5x4 vs 4x4).
  auto shapes = VolumesToSlices(images, labels, 1, 1, 3);
  CHECK(shapes.status().code() == StatusCode::kInvalidArgument);
  std::vector<Volume> fractional = {labels[0]};
  fractional[0].data[3] = 0.5f;
  CHECK(VolumesToSlices({images[0]}, fractional, 2, 1, 3).status().code() == StatusCode::kInvalidArgument);
  auto empty = VolumesToSlices({}, {}, 2, 1, 2);
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);
}
