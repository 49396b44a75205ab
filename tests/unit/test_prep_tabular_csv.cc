// fl-prep on tables, part 2: Dirichlet and class splits, per-site stratified test splits,
// the pooled union, CSV quoting and label round trips, input errors, and sites.json sections
// that the worker's LoadCsv reads with the same class ids everywhere.
#include "prep_tabular_util.h"

TEST_CASE("prep tabular: csv classes split gives each site only its classes", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SimpleCsv(240, 3)), out);
  j["split"] = "classes";
  j["sites"] = {{{"name", "a"}, {"classes", {0, 1}}, {"weight", 3}},
                {{"name", "b"}, {"classes", {"1.0", "2"}}, {"weight", 1}},
                {{"name", "c"}, {"classes", {"2"}}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["unassigned_rows"] == 0);
  std::map<int, int> per_class;
  for (int i = 0; i < 240; ++i) ++per_class[LabelOf(i, 3)];
  const std::map<std::string, std::set<int>> allowed = {{"a", {0, 1}}, {"b", {1, 2}}, {"c", {2}}};
  std::map<std::string, std::map<int, int>> got;
  std::vector<int> all;
  for (const auto& [site, classes] : allowed) {
    for (const char* split : {"train", "test"}) {
      const Table t = ReadTable(out + "/" + site + "/" + split + ".csv", true);
      for (const auto& r : t.rows) {
        const int label = std::stoi(r[2]);
        CHECK(classes.count(label) == 1);
        CHECK(label == LabelOf(std::stoi(r[0]), 3));
        ++got[site][label];
        all.push_back(std::stoi(r[0]));
      }
    }
  }
  CHECK(all.size() == 240);
  CHECK(std::set<int>(all.begin(), all.end()).size() == 240);
  CHECK(got["a"][0] == per_class[0]);  // class 0 only at a, class 2 shared b:c 1:1, class 1 a:b 3:1
  CHECK(got["a"][1] + got["b"][1] == per_class[1]);
  CHECK(std::abs(got["a"][1] - 3 * got["b"][1]) <= 3);
  CHECK(std::abs(got["b"][2] - got["c"][2]) <= 1);

  // sites.json: every site declares all 3 classes, so site c (class 2 only) builds the same model.
  const json sites = ReadJson(out + "/sites.json");
  for (const char* site : {"a", "b", "c"}) {
    auto s = fl::data::LoadCsv(FromSection(sites["sites"][site]));
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
    CHECK(s->test.num_classes == 3);
  }
  auto c = fl::data::LoadCsv(FromSection(sites["sites"]["c"]));
  REQUIRE(c.ok());
  for (int64_t y : c->train.labels) CHECK(y == 2);
}

TEST_CASE("prep tabular: csv classes split errors", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SimpleCsv(60, 3)), out);
  j["split"] = "classes";
  SECTION("a class listed by no site") {
    j["sites"] = {{{"name", "a"}, {"classes", {0}}}, {{"name", "b"}, {"classes", {1}}}};
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("'2'") && Contains("no site"));
  }
  SECTION("a class the file does not have") {
    j["sites"] = {{{"name", "a"}, {"classes", {0, 1}}}, {{"name", "b"}, {"classes", {2, 5}}}};
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("site b") && Contains("'5'") && Contains("in.csv"));
  }
  CHECK_FALSE(fs::exists(out));
}

// ==== csv: per-site test split, pooled files, missing labels ==============================

TEST_CASE("prep tabular: csv per-site stratified test split and pooled union", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SimpleCsv(400, 3, 10)), out);
  j["test_fraction"] = 0.25;
  j["sites"] = {{{"name", "a"}, {"test_fraction", 0.5}}, {{"name", "b"}, {"weight", 2}}, {{"name", "c"}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["dropped_rows"] == 40);
  const std::map<std::string, double> fraction = {{"a", 0.5}, {"b", 0.25}, {"c", 0.25}};
  std::vector<int> all_train, all_test;
  for (const auto& [site, f] : fraction) {
    INFO(site);
    const auto [train, test] = SiteIds(out, site, true);
    CHECK(std::is_sorted(train.begin(), train.end()));  // rows in file order
    CHECK(std::is_sorted(test.begin(), test.end()));
    std::map<int, int> n_train, n_test;
    for (int id : train) ++n_train[LabelOf(id, 3)];
    for (int id : test) ++n_test[LabelOf(id, 3)];
    for (int c = 0; c < 3; ++c) {
      const int n = n_train[c] + n_test[c];
      CHECK(n_test[c] == std::llround(f * n));
      CHECK((*summary)["sites"][site]["train_classes"][std::to_string(c)] == n_train[c]);
      CHECK((*summary)["sites"][site]["test_classes"][std::to_string(c)] == n_test[c]);
    }
    for (int id : train) CHECK(id % 10 != 9);  // rows without a label are not written
    for (int id : test) CHECK(id % 10 != 9);
    all_train.insert(all_train.end(), train.begin(), train.end());
    all_test.insert(all_test.end(), test.begin(), test.end());
  }
  // Pooled: the union of the sites' splits, in file order, with the rows exactly as written.
  const Table ptrain = ReadTable(out + "/pooled/train.csv", true);
  const Table ptest = ReadTable(out + "/pooled/test.csv", true);
  CHECK(IntColumn(ptrain, 0) == Sorted(all_train));
  CHECK(IntColumn(ptest, 0) == Sorted(all_test));
  CHECK(all_train.size() + all_test.size() == 360);
  const std::set<int> train_set(all_train.begin(), all_train.end());
  CHECK(train_set.size() == all_train.size());
  for (int id : all_test) CHECK(train_set.count(id) == 0);
  const Table input = ReadTable(dir.File("in.csv"), true);
  for (const auto& r : ptrain.rows) CHECK(r == input.rows[static_cast<size_t>(std::stoi(r[0]))]);
  CHECK(ptrain.header == input.header);

  // The launcher's pooled data and global test set: the union of the sites' own sections
  // (each site prepared with its own statistics), whose splits are exactly the sites'.
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["pooled"] == sites["global_test"]);
  REQUIRE(sites["pooled"]["format"] == "union");
  const json& parts = sites["pooled"]["parts"];
  REQUIRE(parts.size() == sites["sites"].size());
  size_t pooled_train = 0, pooled_test = 0;
  for (const json& part : parts) {
    bool is_a_site = false;
    for (const auto& [name, section] : sites["sites"].items()) is_a_site = is_a_site || section == part;
    CHECK(is_a_site);
    CsvOptions po = FromSection(part);
    auto loaded = fl::data::LoadCsv(po);
    REQUIRE(loaded.ok());
    pooled_train += loaded->train.size();
    pooled_test += loaded->test.size();
  }
  CHECK(pooled_train == all_train.size());
  CHECK(pooled_test == all_test.size());
}

TEST_CASE("prep tabular: csv fields with the delimiter or quotes survive a round trip", "[prep_tabular]") {
  TempDir dir;
  const char delim = GENERATE(',', ';', '\t');
  INFO("delimiter '" << delim << "'");
  const std::string d(1, delim);
  const std::vector<std::string> labels = {"a" + d + "b", "say \"hi\"", "plain", "two\nlines"};
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string text = "id" + d + quote("x" + d + "1") + d + "label\n";
  for (int i = 0; i < 60; ++i) {
    text += std::to_string(i) + d + quote(std::to_string(i * 3)) + d + quote(labels[i % 4]) + "\n";
  }
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["csv"] = {{"label_column", "label"}, {"delimiter", d}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  const Table written = ReadTable(out + "/a/train.csv", true, delim);
  CHECK(written.header == std::vector<std::string>{"id", "x" + d + "1", "label"});
  REQUIRE(!written.rows.empty());
  for (const auto& r : written.rows) {
    const int id = std::stoi(r[0]);
    CHECK(r[1] == std::to_string(id * 3));
    CHECK(r[2] == labels[static_cast<size_t>(id % 4)]);
  }
  const json sites = ReadJson(out + "/sites.json");
  std::vector<std::string> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sites["sites"]["b"]["csv"]["classes"] == json(sorted));
  for (const char* site : {"a", "b"}) {
    CsvOptions o = FromSection(sites["sites"][site]);
    o.standardize = false;
    CsvReport report;
    auto s = fl::data::LoadCsv(o, &report);
    INFO(site << ": " << (s.ok() ? "" : s.status().message()));
    REQUIRE(s.ok());
    CHECK(report.class_names == sorted);
    CHECK(report.feature_names == std::vector<std::string>{"id", "x" + d + "1"});
    for (size_t i = 0; i < s->train.size(); ++i) {
      const int id = static_cast<int>(s->train.features[i * 2]);
      CHECK(sorted[static_cast<size_t>(s->train.labels[i])] == labels[static_cast<size_t>(id % 4)]);
    }
  }
}

TEST_CASE("prep tabular: csv quoted labels with surrounding spaces survive a round trip", "[prep_tabular]") {
  // The reader trims unquoted fields, so a label read from a quoted field with leading or
  // trailing spaces must be quoted again when written, or hospitals see another label.
  TempDir dir;
  std::string text = "id,x,label\n";
  for (int i = 0; i < 30; ++i) text += std::to_string(i) + "," + std::to_string(i) + "," + (i % 2 ? "\" sick\"" : "ok") + "\n";
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["csv"] = {{"label_column", "label"}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["sites"]["a"]["csv"]["classes"] == json::array({" sick", "ok"}));
  const Table written = ReadTable(out + "/a/train.csv", true);
  for (const auto& r : written.rows) CHECK(r[2] == (std::stoi(r[0]) % 2 ? " sick" : "ok"));
  auto s = fl::data::LoadCsv(FromSection(sites["sites"]["a"]));
  INFO((s.ok() ? "" : s.status().message()));
  CHECK(s.ok());
}

TEST_CASE("prep tabular: csv rows with a missing label are dropped and counted", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", "id,x,y\n0,1,0\n1,2,?\n2,3,1\n3,4,\n4,5,none\n5,6,0\n6,7,1\n7,8,0\n8,9,1\n"
                                       "9,1,0\n10,2,1\n11,3,0\n12,4,1\n"),
                   out);
  j["csv"]["missing_values"] = {"?", "", "none"};
  j["test_fraction"] = 0.5;
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["dropped_rows"] == 3);
  std::vector<int> all;
  for (const char* site : {"a", "b"}) {
    const auto [train, test] = SiteIds(out, site, true);
    all.insert(all.end(), train.begin(), train.end());
    all.insert(all.end(), test.begin(), test.end());
  }
  CHECK(Sorted(all) == std::vector<int>{0, 2, 5, 6, 7, 8, 9, 10, 11, 12});
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["sites"]["a"]["csv"]["missing_values"] == json::array({"?", "", "none"}));
  CHECK(sites["sites"]["a"]["csv"]["classes"] == json::array({"0", "1"}));
}

TEST_CASE("prep tabular: csv skip_rows and CRLF input", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  std::string text = "a title line, with a comma\r\n";
  for (int i = 0; i < 20; ++i) text += std::to_string(i) + ";" + std::to_string(i % 2) + ";" + std::to_string(i) + "\r\n";
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["csv"] = {{"header", false}, {"skip_rows", 1}, {"delimiter", ";"}, {"label_column", "1"}};
  REQUIRE(RunSpec(j).ok());
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["sites"]["a"]["csv"]["delimiter"] == ";");
  CHECK(sites["sites"]["a"]["csv"]["label_column"] == "1");
  size_t rows = 0;
  for (const char* site : {"a", "b"}) {
    CsvOptions o = FromSection(sites["sites"][site]);  // no skip_rows: the title is not copied
    o.standardize = false;
    auto s = fl::data::LoadCsv(o);
    INFO(site << ": " << (s.ok() ? "" : s.status().message()));
    REQUIRE(s.ok());
    for (size_t i = 0; i < s->train.size(); ++i) CHECK(s->train.labels[i] == static_cast<int>(s->train.features[i * 2]) % 2);
    rows += s->train.size() + s->test.size();
  }
  CHECK(rows == 20);
}

TEST_CASE("prep tabular: csv label column given by index under a duplicated header name", "[prep_tabular]") {
  // Header "y,x,y" with label_column "2": the label is the LAST column. sites.json must name
  // it so that the worker resolves the same column (a header name resolves to its first use).
  TempDir dir;
  const std::string out = dir.File("out");
  std::string text = "y,x,y\n";
  for (int i = 0; i < 30; ++i) text += std::to_string(100 + i) + "," + std::to_string(i) + "," + std::to_string(i % 2) + "\n";
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["csv"] = {{"label_column", "2"}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["sites"]["a"]["train_classes"].size() == 2);  // prep used the last column
  const json sites = ReadJson(out + "/sites.json");
  auto s = fl::data::LoadCsv(FromSection(sites["sites"]["a"]));
  INFO("label_column " << sites["sites"]["a"]["csv"]["label_column"] << ": " << (s.ok() ? "" : s.status().message()));
  REQUIRE(s.ok());
  CHECK(s->train.num_classes == 2);
}

TEST_CASE("prep tabular: csv refuses to write into existing folders", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SimpleCsv(30, 2)), out);
  const std::string existing = GENERATE(std::string("b"), std::string("pooled"));
  fs::create_directories(out + "/" + existing);
  auto s = RunSpec(j);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(s.status().message(), Contains(out + "/" + existing) && Contains("exists"));
  CHECK_FALSE(fs::exists(out + "/a"));
  CHECK_FALSE(fs::exists(out + "/sites.json"));
  // A second run into a fresh folder works; a run over it is refused.
  j["output"] = dir.File("out2");
  REQUIRE(RunSpec(j).ok());
  CHECK(RunSpec(j).status().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("prep tabular: csv input errors", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  SECTION("missing input") {
    json j = CsvSpec(dir.File("nope.csv"), out);
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("nope.csv"));
  }
  SECTION("unknown label column") {
    json j = CsvSpec(dir.Write("in.csv", SimpleCsv(20, 2)), out);
    j["csv"]["label_column"] = "target";
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("'target'"));
  }
  SECTION("every label missing") {
    json j = CsvSpec(dir.Write("in.csv", "x,y\n1,?\n2,\n"), out);
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
  }
  SECTION("a site with weight 0 gets no rows") {
    json j = CsvSpec(dir.Write("in.csv", SimpleCsv(20, 2)), out);
    j["sites"][1]["weight"] = 0;
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("site b"));
  }
  SECTION("a site whose only row goes to its test split") {
    json j = CsvSpec(dir.Write("in.csv", "id,x,y\n0,1,0\n1,2,1\n2,3,0\n3,4,1\n4,5,0\n5,6,2\n"), out);
    j["split"] = "classes";
    j["test_fraction"] = 0.5;
    j["sites"] = {{{"name", "a"}, {"classes", {0, 1}}}, {{"name", "b"}, {"classes", {2}}}};
    auto s = RunSpec(j);  // b: llround(0.5 * 1) = 1 test row, no training row
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("site b") && Contains("0 training"));
  }
  CHECK_FALSE(fs::exists(out));  // nothing written, not even the first site's folder
}

// ==== csv: sites.json =====================================================================

TEST_CASE("prep tabular: csv sites.json sections load with the worker's LoadCsv and agree on classes",
          "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  // String labels; with strong label skew some site may lack a class.
  std::string text = "id,x,y\n";
  const char* names[] = {"mild", "none", "severe"};
  for (int i = 0; i < 150; ++i) text += std::to_string(i) + "," + std::to_string(i % 7) + "," + names[LabelOf(i, 3)] + "\n";
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["split"] = "dirichlet";
  j["alpha"] = 0.1;
  j["sites"] = {{{"name", "a"}}, {{"name", "b"}}, {{"name", "c"}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  const json sites = ReadJson(out + "/sites.json");
  REQUIRE(sites.contains("sites"));
  REQUIRE(sites.contains("pooled"));
  REQUIRE(sites.contains("global_test"));
  CHECK(sites["sites"].size() == 3);
  std::vector<json> sections;
  for (const char* key : {"pooled", "global_test"}) {
    REQUIRE(sites[key]["format"] == "union");
    for (const json& part : sites[key]["parts"]) sections.push_back(part);
  }
  for (const auto& [name, section] : sites["sites"].items()) {
    sections.push_back(section);
    CHECK(fs::path(section["path"].get<std::string>()).is_absolute());
    CHECK(section["path"] == fs::absolute(out + "/" + name + "/train.csv").lexically_normal().string());
    CHECK(section["csv"]["test_path"] == fs::absolute(out + "/" + name + "/test.csv").lexically_normal().string());
  }
  for (const json& section : sections) {
    CsvOptions o = FromSection(section);
    o.standardize = false;
    CsvReport report;
    auto s = fl::data::LoadCsv(o, &report);
    INFO(section.dump());
    REQUIRE(s.ok());
    CHECK(s->train.num_classes == 3);
    CHECK(report.class_names == std::vector<std::string>{"mild", "none", "severe"});
    for (const auto* d : {&s->train, &s->test}) {
      for (size_t i = 0; i < d->size(); ++i) {
        const int id = static_cast<int>(d->features[i * 2]);
        CHECK(d->labels[i] == LabelOf(id, 3));
      }
    }
  }
}

// ==== npz =================================================================================
