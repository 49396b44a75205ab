// Tests for fl-prep on tables (csv) and MedMNIST archives (npz), part 1: spec parsing and
// csv splits by a site column and at random. The files RunTabular writes from small synthetic
// inputs are read back with the worker's own loaders, as a hospital configured from
// sites.json would. Parts 2 and 3: test_prep_tabular_csv.cc, test_prep_tabular_npz.cc.
#include "prep_tabular_util.h"


// ==== ParseSpec ===========================================================================

TEST_CASE("prep tabular: a csv spec is parsed with its defaults", "[prep_tabular]") {
  json j = CsvSpec("in.csv", "/tmp/out");
  j["sites"][1]["test_fraction"] = 0.5;
  j["sites"][1]["weight"] = 3;
  auto s = fl::prep::ParseSpec(j, "spec.json");
  REQUIRE(s.ok());
  CHECK(s->format == "csv");
  CHECK(s->input == "in.csv");
  CHECK(s->split == "random");
  CHECK(s->alpha == Approx(0.5));
  CHECK(s->test_fraction == Approx(0.2));
  CHECK(s->header);
  CHECK(s->delimiter == ",");
  CHECK(s->label_column == "y");
  CHECK(s->missing_values == std::vector<std::string>{"", "?", "NA", "NaN", "nan"});
  REQUIRE(s->sites.size() == 2);
  CHECK(s->sites[0].weight == Approx(1.0));
  CHECK(s->sites[0].test_fraction == Approx(0.2));  // the spec's default
  CHECK(s->sites[1].test_fraction == Approx(0.5));
  CHECK(s->sites[1].weight == Approx(3.0));

  json c = CsvSpec("in.csv", "/tmp/out");
  c["split"] = "classes";
  c["test_fraction"] = 0.3;
  c["sites"][0]["classes"] = {0, "1"};
  c["sites"][1]["classes"] = {"1.0", 2};
  auto sc = fl::prep::ParseSpec(c, "spec.json");
  REQUIRE(sc.ok());
  CHECK(sc->sites[0].classes == std::vector<std::string>{"0", "1"});
  CHECK(sc->sites[1].classes == std::vector<std::string>{"1.0", "2"});
  CHECK(sc->sites[0].test_fraction == Approx(0.3));

  json col = CsvSpec("in.csv", "/tmp/out");
  col["split"] = "column";
  col["column"] = "site";
  col["sites"][0]["values"] = {"x", "y"};
  col["sites"][0]["weight"] = 0;  // weights do not matter for a site column
  col["sites"][1]["weight"] = 0;
  auto scol = fl::prep::ParseSpec(col, "spec.json");
  REQUIRE(scol.ok());
  CHECK(scol->column == "site");
  CHECK(scol->sites[0].values == std::vector<std::string>{"x", "y"});
  CHECK(scol->sites[1].values.empty());
}

TEST_CASE("prep tabular: spec errors name the problem", "[prep_tabular]") {
  json j = CsvSpec("in.csv", "/tmp/out");
  SECTION("split column with npz data") {
    j["format"] = "npz";
    j.erase("csv");
    j["split"] = "column";
    j["column"] = "site";
    CHECK_THAT(ParseError(j), Contains("split") && Contains("csv"));
  }
  SECTION("split column without a column") {
    j["split"] = "column";
    CHECK_THAT(ParseError(j), Contains("column") && Contains("required"));
  }
  SECTION("csv without label_column") {
    j["csv"] = json::object();
    CHECK_THAT(ParseError(j), Contains("csv.label_column") && Contains("required"));
    j.erase("csv");
    CHECK_THAT(ParseError(j), Contains("csv.label_column"));
  }
  SECTION("classes with a split other than classes") {
    j["split"] = "dirichlet";
    j["sites"][1]["classes"] = {"0"};
    CHECK_THAT(ParseError(j), Contains("sites[1].classes") && Contains("only applies"));
  }
  SECTION("split classes without a site's classes") {
    j["split"] = "classes";
    j["sites"][0]["classes"] = {"0", "1"};
    CHECK_THAT(ParseError(j), Contains("sites[1].classes") && Contains("required"));
  }
  SECTION("values with a split other than column") {
    j["sites"][0]["values"] = {"x"};
    CHECK_THAT(ParseError(j), Contains("sites[0].values") && Contains("only applies"));
  }
  SECTION("values that are not strings") {
    j["split"] = "column";
    j["column"] = "site";
    j["sites"][0]["values"] = {1.5};
    CHECK_THAT(ParseError(j), Contains("sites[0].values"));
  }
  SECTION("a site named pooled") {
    j["sites"][1]["name"] = "pooled";
    CHECK_THAT(ParseError(j), Contains("sites[1].name") && Contains("pooled"));
  }
  SECTION("fewer than 2 sites") {
    j["sites"] = json::array({{{"name", "a"}}});
    CHECK_THAT(ParseError(j), Contains("at least 2 sites"));
  }
  SECTION("all weights zero") {
    j["sites"][0]["weight"] = 0;
    j["sites"][1]["weight"] = 0.0;
    CHECK_THAT(ParseError(j), Contains("weights are all zero"));
  }
  SECTION("a negative weight") {
    j["sites"][0]["weight"] = -1;
    CHECK_THAT(ParseError(j), Contains("sites[0].weight"));
  }
  SECTION("a site name used twice") {
    j["sites"][1]["name"] = "a";
    CHECK_THAT(ParseError(j), Contains("used twice"));
  }
  SECTION("unknown keys at every level") {
    json top = j;
    top["colour"] = 1;
    CHECK_THAT(ParseError(top), Contains("colour") && Contains("unknown key"));
    json site = j;
    site["sites"][0]["wieght"] = 1;
    CHECK_THAT(ParseError(site), Contains("sites[0].wieght") && Contains("unknown key"));
    json csv = j;
    csv["csv"]["lable_column"] = "y";
    CHECK_THAT(ParseError(csv), Contains("csv.lable_column") && Contains("unknown key"));
    json npz = j;
    npz["format"] = "npz";  // a csv section means nothing for npz
    CHECK_THAT(ParseError(npz), Contains("csv") && Contains("unknown key"));
    json img = j;
    img["sources"] = json::object();  // an images/nifti key
    CHECK_THAT(ParseError(img), Contains("sources") && Contains("unknown key"));
  }
  SECTION("bad values") {
    json split = j;
    split["split"] = "stratified";
    CHECK_THAT(ParseError(split), Contains("split"));
    json tf = j;
    tf["test_fraction"] = 0.95;
    CHECK_THAT(ParseError(tf), Contains("test_fraction"));
    json alpha = j;
    alpha["alpha"] = 0;
    CHECK_THAT(ParseError(alpha), Contains("alpha"));
    json delim = j;
    delim["csv"]["delimiter"] = ";;";
    CHECK_THAT(ParseError(delim), Contains("csv.delimiter"));
    json quote = j;
    quote["csv"]["delimiter"] = "\"";
    CHECK_THAT(ParseError(quote), Contains("csv.delimiter"));
    json no_input = j;
    no_input.erase("input");
    CHECK_THAT(ParseError(no_input), Contains("input") && Contains("required"));
  }
}

// ==== csv: split "column" =================================================================

namespace {

// id,site,x,y: site cycles north, s1, s2, east; every 9th label is missing.
std::string SiteColumnCsv(bool header, int n = 48) {
  const char* sites[] = {"north", "s1", "s2", "east"};
  std::string s = header ? "id,site,x,y\n" : "";
  for (int i = 0; i < n; ++i) {
    const std::string label = i % 9 == 8 ? "?" : std::to_string(i % 2 + 1);
    s += std::to_string(i) + "," + sites[i % 4] + "," + std::to_string(i * 0.25) + "," + label + "\n";
  }
  return s;
}

std::vector<int> ExpectedSiteIds(int n, std::set<int> site_mods) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    if (i % 9 != 8 && site_mods.count(i % 4)) out.push_back(i);
  }
  return out;
}

}  // namespace

TEST_CASE("prep tabular: csv split by a site column", "[prep_tabular]") {
  TempDir dir;
  const bool header = GENERATE(true, false);
  INFO("header " << header);
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SiteColumnCsv(header)), out);
  j["split"] = "column";
  j["column"] = header ? "site" : "1";
  j["csv"]["header"] = header;
  j["csv"]["label_column"] = header ? "y" : "3";
  j["sites"] = {{{"name", "north"}}, {{"name", "south"}, {"values", {"s1", "s2"}}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());

  // "east" rows are unassigned; rows 8, 17, 26, 35, 44 have no label.
  CHECK((*summary)["dropped_rows"] == 5);
  CHECK((*summary)["unassigned_rows"] == 12 - 1);  // 12 east rows (i%4 == 3), one (35) without a label
  const auto north = SiteIds(out, "north", header);
  const auto south = SiteIds(out, "south", header);
  CHECK(std::is_sorted(north.first.begin(), north.first.end()));  // file order
  CHECK(std::is_sorted(south.second.begin(), south.second.end()));
  std::vector<int> n_all = north.first, s_all = south.first;
  n_all.insert(n_all.end(), north.second.begin(), north.second.end());
  s_all.insert(s_all.end(), south.second.begin(), south.second.end());
  CHECK(Sorted(n_all) == ExpectedSiteIds(48, {0}));
  CHECK(Sorted(s_all) == ExpectedSiteIds(48, {1, 2}));
  CHECK((*summary)["sites"]["north"]["train"] == north.first.size());
  CHECK((*summary)["sites"]["north"]["test"] == north.second.size());
  CHECK((*summary)["sites"]["south"]["train"] == south.first.size());

  // The site column is not written; the label column moves left when the site column preceded it.
  const Table t = ReadTable(out + "/south/train.csv", header);
  if (header) CHECK(t.header == std::vector<std::string>{"id", "x", "y"});
  REQUIRE(!t.rows.empty());
  CHECK(t.rows[0].size() == 3);
  for (const auto& r : t.rows) CHECK((r[2] == "1" || r[2] == "2"));

  const json sites = ReadJson(out + "/sites.json");
  REQUIRE(sites["sites"].size() == 2);
  CHECK(sites["sites"]["north"]["csv"]["label_column"] == (header ? "y" : "2"));
  CHECK(sites["sites"]["north"]["csv"]["classes"] == json::array({"1", "2"}));
  for (const char* site : {"north", "south"}) {
    CsvOptions o = FromSection(sites["sites"][site]);
    o.standardize = false;
    CsvReport report;
    auto s = fl::data::LoadCsv(o, &report);
    INFO(site << ": " << (s.ok() ? "" : s.status().message()));
    REQUIRE(s.ok());
    CHECK(report.feature_names.size() == 2);
    CHECK(report.class_names == std::vector<std::string>{"1", "2"});
    // Column 0 is the id; the label of row i is i % 2 + 1, class id i % 2.
    for (const auto* d : {&s->train, &s->test}) {
      for (size_t i = 0; i < d->size(); ++i) {
        const int id = static_cast<int>(d->features[i * 2]);
        CHECK(d->labels[i] == id % 2);
        CHECK(d->features[i * 2 + 1] == Approx(id * 0.25));
      }
    }
    CHECK(s->train.size() + s->test.size() == (std::string(site) == "north" ? n_all.size() : s_all.size()));
  }
}

TEST_CASE("prep tabular: csv site column after the label column, by negative index", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  // y,id,x,site without a header.
  std::string text;
  for (int i = 0; i < 40; ++i) {
    text += std::to_string(i % 3) + "," + std::to_string(i) + "," + std::to_string(i * 2) + "," +
            (i % 2 ? "B" : "A") + "\n";
  }
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["split"] = "column";
  j["column"] = "-1";
  j["csv"] = {{"header", false}, {"label_column", "0"}};
  j["sites"] = {{{"name", "A"}}, {{"name", "B"}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["unassigned_rows"] == 0);
  const json sites = ReadJson(out + "/sites.json");
  CHECK(sites["sites"]["A"]["csv"]["label_column"] == "0");
  for (const json& part : sites["pooled"]["parts"]) CHECK(part["csv"]["label_column"] == "0");
  const Table t = ReadTable(out + "/A/train.csv", false);
  REQUIRE(!t.rows.empty());
  for (const auto& r : t.rows) {
    REQUIRE(r.size() == 3);
    CHECK(std::stoi(r[1]) % 2 == 0);  // site A holds the even ids
    CHECK(std::stoi(r[0]) == std::stoi(r[1]) % 3);
  }
  CsvOptions o = FromSection(sites["sites"]["B"]);
  o.standardize = false;
  auto s = fl::data::LoadCsv(o);
  REQUIRE(s.ok());
  CHECK(s->train.num_classes == 3);
  for (size_t i = 0; i < s->train.size(); ++i) {
    const int id = static_cast<int>(s->train.features[i * 2]);
    CHECK(id % 2 == 1);
    CHECK(s->train.labels[i] == id % 3);
  }
}

TEST_CASE("prep tabular: csv site column classes are those of the assigned rows", "[prep_tabular]") {
  // Site "east" is not a hospital and is the only one with class "9": the hospitals'
  // models get classes 1 and 2, not an output that no hospital trains.
  TempDir dir;
  const std::string out = dir.File("out");
  std::string text = "id,site,x,y\n";
  for (int i = 0; i < 60; ++i) {
    const char* site = i % 3 == 0 ? "north" : i % 3 == 1 ? "south" : "east";
    const std::string label = i % 3 == 2 && i % 2 ? "9" : std::to_string(i % 2 + 1);
    text += std::to_string(i) + "," + site + "," + std::to_string(i * 0.5) + "," + label + "\n";
  }
  json j = CsvSpec(dir.Write("in.csv", text), out);
  j["split"] = "column";
  j["column"] = "site";
  j["sites"] = {{{"name", "north"}}, {{"name", "south"}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["unassigned_rows"] == 20);
  CHECK((*summary)["sites"]["north"]["train_classes"].size() == 2);
  const json sites = ReadJson(out + "/sites.json");
  for (const char* section : {"north", "south"}) CHECK(sites["sites"][section]["csv"]["classes"] == json::array({"1", "2"}));
  for (const json& part : sites["pooled"]["parts"]) CHECK(part["csv"]["classes"] == json::array({"1", "2"}));
  CsvReport report;
  auto s = fl::data::LoadCsv(FromSection(sites["sites"]["south"]), &report);
  REQUIRE(s.ok());
  CHECK(s->train.num_classes == 2);
  for (int64_t y : s->train.labels) CHECK((y == 0 || y == 1));
}

TEST_CASE("prep tabular: csv site column errors", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SiteColumnCsv(true)), out);
  j["split"] = "column";
  j["column"] = "site";
  j["sites"] = {{{"name", "north"}}, {{"name", "south"}, {"values", {"s1"}}}};
  SECTION("an unknown site column") {
    j["column"] = "hospital";
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kNotFound);
    CHECK_THAT(s.status().message(), Contains("in.csv") && Contains("'hospital'"));
  }
  SECTION("the site column is the label column") {
    j["column"] = "y";
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Contains("label column"));
  }
  SECTION("a site whose values match no row") {
    j["sites"][1]["values"] = {"nowhere"};
    auto s = RunSpec(j);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.status().message(), Contains("south"));
  }
  CHECK_FALSE(fs::exists(out));  // nothing written, not even the first site's folder
}

// ==== csv: splits "random" and "dirichlet" ================================================

TEST_CASE("prep tabular: csv random split sizes follow the weights", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  json j = CsvSpec(dir.Write("in.csv", SimpleCsv(100, 2)), out);
  j["seed"] = 99;
  j["sites"] = {{{"name", "a"}, {"weight", 0.5}}, {{"name", "b"}, {"weight", 0.3}}, {{"name", "c"}, {"weight", 0.2}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  const std::vector<size_t> want = {50, 30, 20};
  const std::vector<std::string> names = {"a", "b", "c"};
  std::vector<int> all;
  for (size_t s = 0; s < 3; ++s) {
    const auto [train, test] = SiteIds(out, names[s], true);
    CHECK(train.size() + test.size() == want[s]);
    std::vector<int> ids = train;
    ids.insert(ids.end(), test.begin(), test.end());
    // The same rows as the worker's in-process partition with this seed and these weights.
    fl::data::Partition p;
    p.weights = {0.5, 0.3, 0.2};
    p.index = s;
    p.seed = 99;
    auto rows = fl::data::PartitionRows(100, p);
    REQUIRE(rows.ok());
    CHECK(Sorted(ids) == std::vector<int>(rows->begin(), rows->end()));
    all.insert(all.end(), ids.begin(), ids.end());
  }
  std::vector<int> every(100);
  for (int i = 0; i < 100; ++i) every[i] = i;
  CHECK(Sorted(all) == every);
  CHECK((*summary)["unassigned_rows"] == 0);
  CHECK((*summary)["dropped_rows"] == 0);
}

TEST_CASE("prep tabular: csv dirichlet split equals the worker's in-process partition", "[prep_tabular]") {
  TempDir dir;
  const std::string out = dir.File("out");
  const std::string input = dir.Write("in.csv", SimpleCsv(300, 3, 13));  // labels missing on some rows
  const double alpha = GENERATE(0.3, 5.0);
  json j = CsvSpec(input, out);
  j["seed"] = 2024;
  j["split"] = "dirichlet";
  j["alpha"] = alpha;
  j["sites"] = {{{"name", "a"}, {"weight", 0.5}}, {{"name", "b"}, {"weight", 0.3}}, {{"name", "c"}, {"weight", 0.2}}};
  auto summary = RunSpec(j);
  REQUIRE(summary.ok());
  CHECK((*summary)["dropped_rows"] == 300 / 13);
  const std::vector<std::string> names = {"a", "b", "c"};
  for (size_t s = 0; s < 3; ++s) {
    INFO("site " << names[s] << " alpha " << alpha);
    const auto [train, test] = SiteIds(out, names[s], true);
    std::vector<int> ids = train;
    ids.insert(ids.end(), test.begin(), test.end());

    CsvOptions o;
    o.path = input;
    o.label_column = "y";
    o.standardize = false;
    o.test_fraction = 0.0;
    o.partition.weights = {0.5, 0.3, 0.2};
    o.partition.index = s;
    o.partition.seed = 2024;
    o.partition.dirichlet_alpha = alpha;
    auto w = fl::data::LoadCsv(o);
    REQUIRE(w.ok());
    std::vector<int> worker_ids;
    for (size_t i = 0; i < w->train.size(); ++i) worker_ids.push_back(static_cast<int>(w->train.features[i * 2]));
    CHECK(Sorted(ids) == worker_ids);
  }
}

// ==== csv: split "classes" ================================================================
