// Tests for fl-prep's library (worker/prep): the site folders it writes from small synthetic
// NIfTI and image datasets made on the fly (spec parsing is in test_prep_spec.cc).
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image_ops.h"
#include "data/morphology.h"
#include "data/nifti.h"
#include "data/segmentation_data.h"
#include "prep/prep.h"

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::NiftiDtype;
using fl::data::Volume;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_prep_test_") {}
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// A geometry with a non-trivial qform and sform so that "written with the source geometry"
// can be checked.
void SetGeometry(Volume& v, double sx, double sy, double sz) {
  v.spacing = {sx, sy, sz};
  auto& g = v.geometry;
  g.pixdim = {1, static_cast<float>(sx), static_cast<float>(sy), static_cast<float>(sz), 1, 1, 1, 1};
  g.qform_code = 1;
  g.sform_code = 1;
  g.qoffset_x = -12.5f, g.qoffset_y = 7.25f, g.qoffset_z = 3.0f;
  g.srow_x = {static_cast<float>(sx), 0, 0, -12.5f};
  g.srow_y = {0, static_cast<float>(sy), 0, 7.25f};
  g.srow_z = {0, 0, static_cast<float>(sz), 3.0f};
}

// Image (x + 2y + 3z + k) and label (a box [lo, hi] per axis, inclusive) of one case.
void WriteCase(const std::string& dir, const std::string& id, std::array<int64_t, 3> dims, std::array<int64_t, 3> lo,
               std::array<int64_t, 3> hi, float k) {
  Volume img, lab;
  img.dims = lab.dims = dims;
  SetGeometry(img, 1.5, 1.0, 2.0);
  SetGeometry(lab, 1.5, 1.0, 2.0);
  for (int64_t z = 0; z < dims[2]; ++z)
    for (int64_t y = 0; y < dims[1]; ++y)
      for (int64_t x = 0; x < dims[0]; ++x) {
        img.data.push_back(static_cast<float>(x + 2 * y + 3 * z) + k);
        const bool in = x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1] && z >= lo[2] && z <= hi[2];
        lab.data.push_back(in ? 1.0f : 0.0f);
      }
  REQUIRE(fl::data::WriteNifti(dir + "/" + id + "_image.nii.gz", img, NiftiDtype::kFloat32).ok());
  REQUIRE(fl::data::WriteNifti(dir + "/" + id + "_label.nii.gz", lab, NiftiDtype::kUint8).ok());
}

// Six 12x10x8 cases c0..c5 with a foreground box that differs a little per case.
std::vector<std::string> MakeNiftiSource(const std::string& dir) {
  fs::create_directories(dir);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    const std::string id = "c" + std::to_string(i);
    const int64_t d = i % 2;
    WriteCase(dir, id, {12, 10, 8}, {4, 3, 2}, {7 + d, 6, 5}, static_cast<float>(i));
    ids.push_back(id);
  }
  return ids;
}

json NiftiSpec(const std::string& src, const std::string& out, uint64_t seed) {
  return json{{"format", "nifti"},
              {"output", out},
              {"seed", seed},
              {"sources", {{"la", {{"dir", src}}}}},
              {"sites",
               {{{"name", "A"}, {"source", "la"}, {"cases", 3}, {"test_cases", 1}},
                {{"name", "B"},
                 {"source", "la"},
                 {"cases", 3},
                 {"test_cases", 1},
                 {"train_perturbation", {"closing", "dilation"}},
                 {"min_radius", 1},
                 {"max_radius", 2}}}}};
}

fl::StatusOr<json> RunSpec(const json& j) {
  auto spec = fl::prep::ParseSpec(j, "spec.json");
  if (!spec.ok()) return spec.status();
  return fl::prep::Run(*spec);
}

std::vector<uint8_t> Binary(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] > 0 ? 1 : 0;
  return out;
}

// The site -> (train ids, test ids) assignment read back from the lists.
std::vector<std::vector<std::string>> Assignment(const std::string& out) {
  std::vector<std::vector<std::string>> a;
  for (const char* site : {"A", "B"}) {
    for (const char* split : {"train", "test"}) a.push_back(ReadLines(out + "/" + site + "/" + split + ".list"));
  }
  return a;
}

}  // namespace

TEST_CASE("prep: nifti sites with perturbed training labels", "[prep]") {
  TempDir t;
  const std::string src = t.File("src");
  const std::vector<std::string> ids = MakeNiftiSource(src);
  const std::string out = t.File("out");
  auto summary = RunSpec(NiftiSpec(src, out, 7));
  REQUIRE(summary.ok());

  // Folders and lists.
  std::set<std::string> seen;
  for (const char* site : {"A", "B"}) {
    const std::string root = out + "/" + site;
    REQUIRE(fs::is_directory(root + "/volumes"));
    const auto train = ReadLines(root + "/train.list"), test = ReadLines(root + "/test.list");
    CHECK(train.size() == 2);
    CHECK(test.size() == 1);
    auto read_back = fl::data::ReadIdList(root + "/train.list");
    REQUIRE(read_back.ok());
    CHECK(*read_back == train);
    CHECK(std::is_sorted(train.begin(), train.end()));
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(root + "/volumes")) {
      (void)e;
      ++files;
    }
    CHECK(files == 6);  // image and label of each of the site's 3 cases, nothing else
    for (const auto& list : {train, test}) {
      for (const std::string& id : list) {
        CHECK(seen.insert(id).second);  // no case is given to two sites, or twice
        CHECK(fs::is_symlink(root + "/volumes/" + id + "_image.nii.gz"));
        CHECK(fs::equivalent(root + "/volumes/" + id + "_image.nii.gz", src + "/" + id + "_image.nii.gz"));
      }
    }
    // The summary lists the same cases.
    const json& js = (*summary)[site];
    CHECK(js["source"] == "la");
    REQUIRE(js["train"].size() == 2);
    REQUIRE(js["test"].size() == 1);
    for (size_t i = 0; i < 2; ++i) CHECK(js["train"][i]["id"] == train[i]);
    CHECK(js["test"][0]["id"] == test[0]);
  }
  CHECK(seen == std::set<std::string>(ids.begin(), ids.end()));

  // Unperturbed labels (all of A, B's test case) are links to the source.
  std::vector<std::pair<std::string, std::string>> unperturbed;  // (site, id)
  for (const auto& list : {ReadLines(out + "/A/train.list"), ReadLines(out + "/A/test.list")}) {
    for (const std::string& id : list) unperturbed.emplace_back("A", id);
  }
  for (const std::string& id : ReadLines(out + "/B/test.list")) unperturbed.emplace_back("B", id);
  REQUIRE(unperturbed.size() == 4);
  for (const auto& [site, id] : unperturbed) {
    const std::string label = out + "/" + site + "/volumes/" + id + "_label.nii.gz";
    CHECK(fs::is_symlink(label));
    CHECK(fs::equivalent(label, src + "/" + id + "_label.nii.gz"));
  }
  CHECK_FALSE((*summary)["A"]["train"][0].contains("dice_vs_original"));
  CHECK_FALSE((*summary)["B"]["test"][0].contains("dice_vs_original"));

  // B's training labels are perturbed copies: same grid and geometry, a superset of the
  // original foreground (closing and dilation never remove a voxel), and different.
  const auto b_train = ReadLines(out + "/B/train.list");
  for (size_t i = 0; i < b_train.size(); ++i) {
    const std::string& id = b_train[i];
    const std::string path = out + "/B/volumes/" + id + "_label.nii.gz";
    INFO(path);
    CHECK_FALSE(fs::is_symlink(path));
    auto original = fl::data::ReadNifti(src + "/" + id + "_label.nii.gz");
    auto perturbed = fl::data::ReadNifti(path);
    REQUIRE(original.ok());
    REQUIRE(perturbed.ok());
    auto image = fl::data::ReadNifti(src + "/" + id + "_image.nii.gz");
    REQUIRE(image.ok());
    CHECK(fl::data::ReadNiftiLabel(path, *image).ok());
    REQUIRE(perturbed->dims == original->dims);
    CHECK(perturbed->spacing == original->spacing);
    CHECK(perturbed->geometry.qoffset_x == original->geometry.qoffset_x);
    CHECK(perturbed->geometry.srow_y == original->geometry.srow_y);
    const auto a = Binary(original->data), b = Binary(perturbed->data);
    bool superset = true, values01 = true;
    for (size_t k = 0; k < a.size(); ++k) {
      superset &= !(a[k] && !b[k]);
      values01 &= perturbed->data[k] == 0.0f || perturbed->data[k] == 1.0f;
    }
    CHECK(superset);
    CHECK(values01);
    CHECK(a != b);
    const json& c = (*summary)["B"]["train"][i];
    CHECK(c["id"] == id);
    REQUIRE(c.contains("dice_vs_original"));
    const double dice = c["dice_vs_original"].get<double>();
    CHECK(dice < 1.0);
    CHECK(dice > 0.0);
    CHECK(dice == Approx(fl::data::DiceCoefficient(a, b)).epsilon(1e-9));
  }

  SECTION("same seed, same sites; another seed, another assignment") {
    const std::string out2 = t.File("out2");
    auto again = RunSpec(NiftiSpec(src, out2, 7));
    REQUIRE(again.ok());
    CHECK(*again == *summary);
    CHECK(Assignment(out2) == Assignment(out));
    for (const std::string& id : b_train) {
      auto x = fl::data::ReadNifti(out + "/B/volumes/" + id + "_label.nii.gz");
      auto y = fl::data::ReadNifti(out2 + "/B/volumes/" + id + "_label.nii.gz");
      REQUIRE(x.ok());
      REQUIRE(y.ok());
      CHECK(x->data == y->data);
    }
    // 180 possible assignments of 6 cases: five other seeds all giving this one would
    // mean the seed is ignored.
    bool differs = false;
    for (uint64_t seed = 8; seed < 13 && !differs; ++seed) {
      const std::string o = t.File("seed" + std::to_string(seed));
      REQUIRE(RunSpec(NiftiSpec(src, o, seed)).ok());
      differs = Assignment(o) != Assignment(out);
    }
    CHECK(differs);
  }

  SECTION("an existing site folder is refused before anything is written") {
    auto r = RunSpec(NiftiSpec(src, out, 7));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(r.status().message(), Contains(out + "/A") && Contains("exists"));

    const std::string out3 = t.File("out3");
    fs::create_directories(out3 + "/B");
    r = RunSpec(NiftiSpec(src, out3, 7));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(r.status().message(), Contains(out3 + "/B"));
    CHECK_FALSE(fs::exists(out3 + "/A"));  // site A was not written either
  }
}

TEST_CASE("prep: nifti case counts, lists and source errors", "[prep]") {
  TempDir t;
  const std::string src = t.File("src");
  const std::vector<std::string> ids = MakeNiftiSource(src);

  SECTION("more cases than the source has") {
    json j = NiftiSpec(src, t.File("o1"), 1);
    j["sites"][1]["cases"] = 4;  // 3 + 4 > 6
    auto r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Contains("site B wants 4 cases but source la has 3 left"));
    j = NiftiSpec(src, t.File("o2"), 1);
    j["sites"][0]["cases"] = 7;
    r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("site A wants 7 cases but source la has 6 left"));
  }
  SECTION("a site that would have no training cases") {
    json j = NiftiSpec(src, t.File("o"), 1);
    j["sites"][0]["test_cases"] = 3;
    auto r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("site A") && Contains("no training cases"));
  }
  SECTION("cases 0 takes what is left; test_fraction rounds") {
    json j = NiftiSpec(src, t.File("o"), 3);
    j["sites"][0] = {{"name", "A"}, {"source", "la"}, {"cases", 2}, {"test_cases", 0}};
    j["sites"][1] = {{"name", "B"}, {"source", "la"}, {"test_fraction", 0.25}};  // 4 cases, 1 test
    auto r = RunSpec(j);
    REQUIRE(r.ok());
    CHECK(ReadLines(t.File("o/A/train.list")).size() == 2);
    CHECK_FALSE(fs::exists(t.File("o/A/test.list")));  // no local test split: no list
    CHECK(ReadLines(t.File("o/B/train.list")).size() == 3);
    CHECK(ReadLines(t.File("o/B/test.list")).size() == 1);
    CHECK((*r)["A"]["test"].empty());
    // Nothing is left for a third site.
    j["output"] = t.File("o4");
    j["sites"].push_back({{"name", "C"}, {"source", "la"}});
    r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("site C wants 0 cases but source la has 0 left"));
  }
  SECTION("a list restricts the cases") {
    std::ofstream(t.File("ids.list")) << "# chosen\nc1\n\nc4  \nc5\nc2\n";
    json j = NiftiSpec(src, t.File("o"), 1);
    j["sources"]["la"]["list"] = t.File("ids.list");
    j["sites"][0]["cases"] = 2;
    j["sites"][1]["cases"] = 2;
    auto r = RunSpec(j);
    REQUIRE(r.ok());
    std::set<std::string> got;
    for (const auto& ids_of : Assignment(t.File("o"))) got.insert(ids_of.begin(), ids_of.end());
    CHECK(got.size() == 4);
    for (const std::string& id : got) CHECK((id == "c1" || id == "c2" || id == "c4" || id == "c5"));
  }
  SECTION("a list naming a case twice is refused") {
    // Otherwise the repeated case can be handed to two sites (breaking "sites never share a
    // case") or twice to one site (a link that already exists).
    std::ofstream(t.File("dup.list")) << "c0\nc1\nc2\nc1\n";
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      json j = NiftiSpec(src, t.File("o" + std::to_string(seed)), seed);
      j["sources"]["la"]["list"] = t.File("dup.list");
      j["sites"][0] = {{"name", "A"}, {"source", "la"}, {"cases", 2}, {"test_cases", 0}};
      j["sites"][1] = {{"name", "B"}, {"source", "la"}, {"cases", 2}, {"test_cases", 0}};
      auto r = RunSpec(j);
      INFO("seed " << seed);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == StatusCode::kInvalidArgument);
      CHECK_THAT(r.status().message(), Contains("c1") && Contains(t.File("dup.list")));
      CHECK_FALSE(fs::exists(t.File("o" + std::to_string(seed) + "/A")));
    }
  }
  SECTION("two sites drawing from two sources") {
    const std::string src2 = t.File("src2");
    fs::create_directories(src2);
    WriteCase(src2, "d0", {6, 6, 4}, {2, 2, 1}, {3, 3, 2}, 0);
    WriteCase(src2, "d1", {6, 6, 4}, {2, 2, 1}, {3, 3, 2}, 1);
    json j = NiftiSpec(src, t.File("o"), 1);
    j["sources"]["other"] = {{"dir", src2}};
    j["sites"][1] = {{"name", "B"}, {"source", "other"}, {"test_cases", 1}};
    auto r = RunSpec(j);
    REQUIRE(r.ok());
    CHECK((*r)["B"]["source"] == "other");
    CHECK(ReadLines(t.File("o/B/train.list")).size() == 1);
    CHECK(ReadLines(t.File("o/B/test.list")).size() == 1);
    CHECK(ReadLines(t.File("o/A/train.list")).size() == 2);
  }
  SECTION("a missing source folder is named") {
    json j = NiftiSpec(t.File("nowhere"), t.File("o"), 1);
    auto r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK_THAT(r.status().message(), Contains(t.File("nowhere")));
    CHECK_FALSE(fs::exists(t.File("o/A")));
  }
  SECTION("an empty source") {
    fs::create_directories(t.File("empty"));
    auto r = RunSpec(NiftiSpec(t.File("empty"), t.File("o"), 1));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("has no cases"));
  }
  SECTION("a label that does not fit its image") {
    Volume bad;
    bad.dims = {5, 5, 5};
    bad.data.assign(125, 0.0f);
    REQUIRE(fl::data::WriteNifti(src + "/c3_label.nii.gz", bad, NiftiDtype::kUint8).ok());
    json j = NiftiSpec(src, t.File("o"), 1);
    j["sites"][1].erase("train_perturbation");
    auto r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("c3_label.nii.gz"));
  }
  SECTION("a missing label is named") {
    fs::remove(src + "/c2_label.nii.gz");
    auto r = RunSpec(NiftiSpec(src, t.File("o"), 1));
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("c2_label.nii.gz"));
  }
}

namespace {

// Six 16x20 grey images img0..img5.png with masks of the same name: a 10x12 rectangle.
void MakeImageSource(const std::string& dir) {
  fs::create_directories(dir + "/images");
  fs::create_directories(dir + "/masks");
  const int64_t h = 16, w = 20;
  for (int i = 0; i < 6; ++i) {
    std::vector<uint8_t> img(h * w), mask(h * w, 0);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        img[y * w + x] = static_cast<uint8_t>(10 * i + 3 * x + 2 * y);
        if (y >= 3 && y < 13 && x >= 4 + i % 2 && x < 16) mask[y * w + x] = 255;
      }
    const std::string name = "img" + std::to_string(i) + ".png";
    REQUIRE(fl::data::WritePng(dir + "/images/" + name, img.data(), h, w, 1).ok());
    REQUIRE(fl::data::WritePng(dir + "/masks/" + name, mask.data(), h, w, 1).ok());
  }
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("prep: image sites with eroded training and dilated test masks", "[prep]") {
  TempDir t;
  const std::string src = t.File("src");
  MakeImageSource(src);
  const std::string out = t.File("out");
  json j = {{"format", "images"},
            {"output", out},
            {"seed", 5},
            {"sources", {{"polyp", {{"dir", src}}}}},
            {"sites",
             {{{"name", "A"},
               {"source", "polyp"},
               {"cases", 3},
               {"test_fraction", 0.34},  // 1 test
               {"test_perturbation", {"dilation"}}},
              {{"name", "B"},
               {"source", "polyp"},
               {"test_fraction", 0.5},  // the 3 left, round(1.5) = 2 test
               {"train_perturbation", {"erosion"}},
               {"min_radius", 1},
               {"max_radius", 2}}}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());

  std::set<std::string> seen;
  const std::map<std::string, std::pair<size_t, size_t>> sizes = {{"A", {2, 1}}, {"B", {1, 2}}};
  for (const auto& [site, n] : sizes) {
    for (const std::string split : {"train", "test"}) {
      const std::string dir = out + "/" + site + "/" + split;
      const auto images = Files(dir + "/images");
      CHECK(images.size() == (split == "train" ? n.first : n.second));
      CHECK(Files(dir + "/masks") == images);
      REQUIRE((*summary)[site][split].size() == images.size());
      for (size_t i = 0; i < images.size(); ++i) {
        const std::string& f = images[i];
        CHECK((*summary)[site][split][i]["id"] == f);
        CHECK(seen.insert(f).second);
        CHECK(fs::is_symlink(dir + "/images/" + f));
        CHECK(fs::equivalent(dir + "/images/" + f, src + "/images/" + f));
        // B's training masks are eroded, A's test mask dilated.
        const bool eroded_split = site == "B" && split == "train", dilated_split = site == "A" && split == "test";
        const bool perturbed = eroded_split || dilated_split;
        CHECK(fs::is_symlink(dir + "/masks/" + f) == !perturbed);
        CHECK((*summary)[site][split][i].contains("dice_vs_original") == perturbed);
        if (!perturbed) continue;
        auto original = fl::data::ReadImage(src + "/masks/" + f, 1);
        auto changed = fl::data::ReadImage(dir + "/masks/" + f, 1);
        REQUIRE(original.ok());
        REQUIRE(changed.ok());
        REQUIRE(changed->h == original->h);
        REQUIRE(changed->w == original->w);
        CHECK(changed->c == 1);
        bool subset = true, superset = true, values = true;
        std::vector<uint8_t> a, b;
        for (size_t k = 0; k < original->hwc.size(); ++k) {
          a.push_back(original->hwc[k] > 128);
          b.push_back(changed->hwc[k] > 128);
          subset &= !(b.back() && !a.back());
          superset &= !(a.back() && !b.back());
          values &= changed->hwc[k] == 0 || changed->hwc[k] == 255;
        }
        CHECK(subset == eroded_split);
        CHECK(superset == dilated_split);
        CHECK(values);
        CHECK(a != b);
        const double dice = (*summary)[site][split][i]["dice_vs_original"].get<double>();
        CHECK(dice < 1.0);
        CHECK(dice > 0.0);
        CHECK(dice == Approx(fl::data::DiceCoefficient(a, b)).epsilon(1e-9));
      }
    }
  }
  CHECK(seen.size() == 6);

  // The worker's "images" format reads a produced site.
  for (const std::string site : {"A", "B"}) {
    fl::data::ImageSplitOptions o;
    o.train_dir = out + "/" + site + "/train";
    o.test_dir = out + "/" + site + "/test";
    o.folder.channels = 1;
    auto split = fl::data::LoadImageSplit(o);
    REQUIRE(split.ok());
    CHECK(split->train.size() == sizes.at(site).first);
    CHECK(split->test.size() == sizes.at(site).second);
    CHECK(split->train.sample_shape == std::vector<int64_t>{1, 16, 20});
    CHECK(split->train.mask_shape == std::vector<int64_t>{16, 20});
    CHECK(split->test.sample_shape == split->train.sample_shape);
    if (site == "B") {
      // The loaded training mask is the eroded one.
      const std::string f = Files(o.train_dir + "/images")[0];
      auto eroded = fl::data::ReadImage(o.train_dir + "/masks/" + f, 1);
      REQUIRE(eroded.ok());
      int64_t fg_file = 0, fg_loaded = 0;
      for (uint8_t v : eroded->hwc) fg_file += v > 128;
      for (uint8_t v : split->train.masks) fg_loaded += v;
      CHECK(fg_loaded == fg_file);
    }
  }

  SECTION("determinism and refusal") {
    json j2 = j;
    j2["output"] = t.File("out2");
    auto again = RunSpec(j2);
    REQUIRE(again.ok());
    CHECK(*again == *summary);
    auto r = RunSpec(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kFailedPrecondition);
  }
  SECTION("an image without a mask is named") {
    fs::remove(src + "/masks/img3.png");
    json j2 = j;
    j2["output"] = t.File("out3");
    auto r = RunSpec(j2);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK_THAT(r.status().message(), Contains("img3.png") && Contains("has no mask"));
  }
  SECTION("a missing images folder") {
    json j2 = j;
    j2["output"] = t.File("out4");
    j2["sources"]["polyp"]["dir"] = t.File("out");  // has A/ and B/ but no images/
    auto r = RunSpec(j2);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains(t.File("out") + "/images"));
  }
}
