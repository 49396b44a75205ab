// fl-prep on MedMNIST archives, part 3: every split partitioned disjointly, equality with
// the worker's in-process partition (synthetic and the real PneumoniaMNIST file), class
// splits, sites without val/test images, and input errors.
#include "prep_tabular_util.h"

namespace {

// train (300), val (60, the only split with label 3) and test (120) MedMNIST-like arrays.
std::map<std::string, NpyArray> SyntheticNpz() {
  std::map<std::string, NpyArray> a;
  std::vector<int> tr, va, te;
  for (int i = 0; i < 300; ++i) tr.push_back(LabelOf(i, 3, 11));
  for (int i = 0; i < 60; ++i) va.push_back(i % 15 == 0 ? 3 : LabelOf(i, 3, 12));
  for (int i = 0; i < 120; ++i) te.push_back(LabelOf(i, 3, 13));
  AddSplit(&a, "train", 300, 1, tr);
  AddSplit(&a, "val", 60, 2, va);
  AddSplit(&a, "test", 120, 3, te);
  return a;
}

json NpzSpec(const std::string& input, const std::string& output) {
  return json{{"format", "npz"},
              {"input", input},
              {"output", output},
              {"seed", 5},
              {"sites",
               {{{"name", "h1"}, {"weight", 0.5}}, {{"name", "h2"}, {"weight", 0.3}}, {{"name", "h3"}, {"weight", 0.2}}}}};
}

}  // namespace

TEST_CASE("prep tabular: npz sites partition every split disjointly", "[prep_tabular]") {
  TempDir dir;
  const std::string input = dir.File("in.npz");
  const auto arrays = SyntheticNpz();
  REQUIRE(fl::data::WriteNpz(input, arrays).ok());
  const std::string out = dir.File("out");
  const std::string split = GENERATE(std::string("random"), std::string("dirichlet"));
  INFO("split " << split);
  json j = NpzSpec(input, out);
  j["split"] = split;
  auto summary = RunSpec(j);
  INFO((summary.ok() ? "" : summary.status().message()));
  REQUIRE(summary.ok());
  std::map<std::string, std::map<std::string, NpyArray>> site;
  for (const char* s : {"h1", "h2", "h3"}) site[s] = ReadAllNpz(out + "/" + s + "/data.npz");
  for (const std::string p : {"train", "val", "test"}) {
    INFO(p);
    std::vector<std::string> all;
    for (auto& [name, a] : site) {
      REQUIRE(a.size() == 6);
      const NpyArray& img = a.at(p + "_images");
      const NpyArray& lab = a.at(p + "_labels");
      CHECK(img.dtype == "|u1");
      CHECK(lab.shape == std::vector<int64_t>{img.shape[0], 1});  // (N, 1) labels kept as (n, 1)
      CHECK((img.shape == std::vector<int64_t>{img.shape[0], 2, 3}));
      CHECK((*summary)["sites"][name][p]["images"] == img.shape[0]);
      const auto rows = RowBytes(img);
      std::vector<int> ids;
      for (size_t r = 0; r < rows.size(); ++r) {
        CHECK(static_cast<uint8_t>(rows[r][4]) == lab.data[r]);  // image and label stay together
        ids.push_back(static_cast<uint8_t>(rows[r][1]) | (static_cast<uint8_t>(rows[r][2]) << 8));
      }
      CHECK(std::is_sorted(ids.begin(), ids.end()));  // file order
      all.insert(all.end(), rows.begin(), rows.end());
    }
    auto want = RowBytes(arrays.at(p + "_images"));
    std::sort(want.begin(), want.end());
    std::sort(all.begin(), all.end());
    CHECK(all == want);  // disjoint, and together the whole split
  }
  if (split == "random") {  // sizes follow the weights in every split
    CHECK((*summary)["sites"]["h1"]["train"]["images"] == 150);
    CHECK((*summary)["sites"]["h2"]["train"]["images"] == 90);
    CHECK((*summary)["sites"]["h3"]["val"]["images"] == 12);
  }
  // sites.json: num_classes 4 (label 3 only occurs in val), so every site builds the same model.
  const json sites = ReadJson(out + "/sites.json");
  for (const char* s : {"h1", "h2", "h3"}) {
    const json& d = sites["sites"][s];
    CHECK(d["format"] == "npz");
    CHECK(d["npz"]["num_classes"] == 4);
    fl::data::NpzOptions o;
    o.path = d["path"].get<std::string>();
    o.num_classes = d["npz"]["num_classes"].get<int64_t>();
    auto loaded = fl::data::LoadNpz(o);
    REQUIRE(loaded.ok());
    CHECK(loaded->train.num_classes == 4);
    CHECK(loaded->test.size() == static_cast<size_t>(site[s].at("test_images").shape[0]));
  }
  // The launcher's pooled data and global test set: exactly the sites' sections.
  CHECK(sites["pooled"] == sites["global_test"]);
  REQUIRE(sites["pooled"]["format"] == "union");
  std::vector<json> parts = sites["pooled"]["parts"], site_sections;
  for (const auto& [name, section] : sites["sites"].items()) site_sections.push_back(section);
  CHECK(parts == site_sections);
  CHECK_FALSE(fs::exists(out + "/pooled"));
}

TEST_CASE("prep tabular: npz dirichlet sites equal LoadNpz with the in-process partition", "[prep_tabular]") {
  TempDir dir;
  const std::string input = dir.File("in.npz");
  REQUIRE(fl::data::WriteNpz(input, SyntheticNpz()).ok());
  const std::string out = dir.File("out");
  json j = NpzSpec(input, out);
  j["split"] = "dirichlet";
  j["alpha"] = 0.5;
  j["seed"] = 31;
  REQUIRE(RunSpec(j).ok());
  const std::vector<std::string> names = {"h1", "h2", "h3"};
  for (size_t s = 0; s < 3; ++s) {
    INFO(names[s]);
    const auto mine = ReadAllNpz(out + "/" + names[s] + "/data.npz");
    for (const char* test_prefix : {"test", "val"}) {
      fl::data::NpzOptions o;
      o.path = input;
      o.test_prefix = test_prefix;
      o.partition.weights = {0.5, 0.3, 0.2};
      o.partition.index = s;
      o.partition.seed = 31;
      o.partition.dirichlet_alpha = 0.5;
      auto w = fl::data::LoadNpz(o);
      REQUIRE(w.ok());
      CHECK(DatasetBytes(w->train) == RowBytes(mine.at("train_images")));
      CHECK(DatasetBytes(w->test) == RowBytes(mine.at(std::string(test_prefix) + "_images")));
      std::vector<int64_t> labels(mine.at("train_labels").data.begin(), mine.at("train_labels").data.end());
      CHECK(w->train.labels == labels);
    }
  }
}

TEST_CASE("prep tabular: npz classes split and errors", "[prep_tabular]") {
  TempDir dir;
  const std::string input = dir.File("in.npz");
  REQUIRE(fl::data::WriteNpz(input, SyntheticNpz()).ok());
  const std::string out = dir.File("out");
  json j = NpzSpec(input, out);
  j["split"] = "classes";
  SECTION("each site only has its classes") {
    j["sites"][0]["classes"] = {0, 3};
    j["sites"][1]["classes"] = {1, 3};
    j["sites"][2]["classes"] = {"2"};
    REQUIRE(RunSpec(j).ok());
    const std::map<std::string, std::set<uint8_t>> allowed = {{"h1", {0, 3}}, {"h2", {1, 3}}, {"h3", {2}}};
    for (const auto& [name, classes] : allowed) {
      const auto a = ReadAllNpz(out + "/" + name + "/data.npz");
      for (const char* p : {"train_labels", "val_labels", "test_labels"}) {
        for (uint8_t y : a.at(p).data) CHECK(classes.count(y) == 1);
      }
    }
  }
  SECTION("a class the file does not have") {
    j["sites"][0]["classes"] = {0, 3};
    j["sites"][1]["classes"] = {1};
    j["sites"][2]["classes"] = {2, 4};
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("h3") && Contains("'4'"));
    CHECK_FALSE(fs::exists(out));
  }
  SECTION("a class listed by no site") {
    j["sites"][0]["classes"] = {0};
    j["sites"][1]["classes"] = {1};
    j["sites"][2]["classes"] = {2};
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("'3'") && Contains("no site"));
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("prep tabular: npz sites without val or test images, and class ids without rows", "[prep_tabular]") {
  TempDir dir;
  const std::string input = dir.File("in.npz");
  // Labels 0 and 2 only (class id 1 has no rows, so no site needs to list it); val holds class 0 only.
  std::map<std::string, NpyArray> a;
  std::vector<int> tr, va, te;
  for (int i = 0; i < 40; ++i) tr.push_back(i % 2 ? 2 : 0);
  for (int i = 0; i < 10; ++i) va.push_back(0);
  for (int i = 0; i < 20; ++i) te.push_back(i % 2 ? 2 : 0);
  AddSplit(&a, "train", 40, 1, tr);
  AddSplit(&a, "val", 10, 2, va);
  AddSplit(&a, "test", 20, 3, te);
  REQUIRE(fl::data::WriteNpz(input, a).ok());
  const std::string out = dir.File("out");
  json j = NpzSpec(input, out);
  j["split"] = "classes";
  j["sites"] = {{{"name", "zero"}, {"classes", {0}}}, {{"name", "two"}, {"classes", {"2"}}}};
  auto summary = RunSpec(j);
  INFO((summary.ok() ? "" : summary.status().message()));
  REQUIRE(summary.ok());
  CHECK((*summary)["sites"]["two"]["val"]["images"] == 0);
  CHECK((*summary)["sites"]["zero"]["val"]["images"] == 10);
  const auto two = ReadAllNpz(out + "/two/data.npz");
  CHECK(two.at("val_images").shape == std::vector<int64_t>{0, 2, 3});
  CHECK(two.at("train_images").shape == std::vector<int64_t>{20, 2, 3});
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["sites"]["two"]["npz"]["num_classes"] == 3);
  fl::data::NpzOptions o;
  o.path = out + "/two/data.npz";
  o.num_classes = 3;
  auto s = fl::data::LoadNpz(o);
  REQUIRE(s.ok());
  for (int64_t y : s->train.labels) CHECK(y == 2);

  SECTION("a site without training images stops the run before anything is written") {
    const std::string out2 = dir.File("out2");
    json k = NpzSpec(input, out2);
    k["sites"] = {{{"name", "h1"}, {"weight", 1}}, {{"name", "h2"}, {"weight", 0}}};
    auto r = RunSpec(k);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Contains("h2") && Contains("no training images"));
    CHECK_FALSE(fs::exists(out2));
  }
}

TEST_CASE("prep tabular: npz input errors and existing folders", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  SECTION("missing input") {
    auto s = RunSpec(NpzSpec(dir.File("nope.npz"), out));
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("nope.npz"));
  }
  SECTION("no train arrays") {
    std::map<std::string, NpyArray> a;
    AddSplit(&a, "test", 10, 3, std::vector<int>(10, 0));
    const std::string input = dir.File("t.npz");
    REQUIRE(fl::data::WriteNpz(input, a).ok());
    auto s = RunSpec(NpzSpec(input, out));
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("train_images"));
  }
  SECTION("images without labels") {
    std::map<std::string, NpyArray> a = SyntheticNpz();
    a.erase("val_labels");
    const std::string input = dir.File("v.npz");
    REQUIRE(fl::data::WriteNpz(input, a).ok());
    auto s = RunSpec(NpzSpec(input, out));
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("val_images") && Contains("val_labels"));
  }
  SECTION("an existing site folder") {
    const std::string input = dir.File("in.npz");
    REQUIRE(fl::data::WriteNpz(input, SyntheticNpz()).ok());
    fs::create_directories(out + "/h3");
    auto s = RunSpec(NpzSpec(input, out));
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(s.status().message(), Contains(out + "/h3"));
    CHECK_FALSE(fs::exists(out + "/h1"));
  }
  CHECK_FALSE(fs::exists(out + "/sites.json"));
}

// ==== npz: the real PneumoniaMNIST file with configs/prep-pneumonia.json's settings ========

TEST_CASE("prep tabular: PneumoniaMNIST with configs/prep-pneumonia.json matches the worker's partition",
          "[prep_tabular]") {
  const std::string path = std::string(FL_SHARED_DATA_DIR) + "/pneumoniamnist/pneumoniamnist.npz";
  if (!fs::exists(path)) {
    WARN("skipped: missing " << path);
    return;
  }
  // The example spec (its input is relative to the repository root; this test reads the file
  // from FL_SHARED_DATA_DIR). Its settings are those the worker's partition is compared with.
  json j = {{"format", "npz"},
            {"seed", 2024},
            {"split", "dirichlet"},
            {"alpha", 0.5},
            {"sites",
             {{{"name", "hospital-a"}, {"weight", 0.5}},
              {{"name", "hospital-b"}, {"weight", 0.3}},
              {{"name", "hospital-c"}, {"weight", 0.2}}}}};
  const fs::path config = fs::path(__FILE__).parent_path().parent_path().parent_path() / "configs" /
                          "prep-pneumonia.json";
  if (fs::exists(config)) {
    auto c = fl::ParseJsonFile(config.string());
    REQUIRE(c.ok());
    for (const char* k : {"format", "seed", "split", "alpha", "sites"}) CHECK((*c)[k] == j[k]);
    j = *c;
  } else {
    WARN("configs/prep-pneumonia.json not found next to " << __FILE__ << "; using its settings as written here");
  }
  TempDir dir;
  j["input"] = path;
  j["output"] = dir.File("sites");
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  const std::vector<std::string> names = {"hospital-a", "hospital-b", "hospital-c"};
  size_t total = 0;
  for (size_t s = 0; s < 3; ++s) {
    INFO(names[s]);
    fl::data::NpzOptions o;
    o.path = path;
    o.partition.weights = {0.5, 0.3, 0.2};
    o.partition.index = s;
    o.partition.seed = 2024;
    o.partition.dirichlet_alpha = 0.5;
    auto w = fl::data::LoadNpz(o);
    REQUIRE(w.ok());
    CHECK((*summary)["sites"][names[s]]["train"]["images"] == w->train.size());
    CHECK((*summary)["sites"][names[s]]["test"]["images"] == w->test.size());
    fl::data::NpzOptions mine;
    mine.path = dir.File("sites/" + names[s] + "/data.npz");
    mine.num_classes = 2;
    auto m = fl::data::LoadNpz(mine);
    REQUIRE(m.ok());
    CHECK(m->train.size() == w->train.size());
    CHECK(m->train.labels == w->train.labels);
    CHECK(m->test.labels == w->test.labels);
    const bool same_images = m->train.features == w->train.features;  // (no dump of 1.8M floats)
    CHECK(same_images);
    total += m->train.size();
  }
  CHECK(total == 4708);
  const json sites = ReadJson(dir.File("sites/sites.json"));
  CHECK(sites["sites"]["hospital-c"]["npz"]["num_classes"] == 2);
}
