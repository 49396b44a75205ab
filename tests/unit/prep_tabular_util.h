// Shared helpers of the fl-prep table/archive tests (test_prep_tabular*.cc): spec builders,
// synthetic CSV and .npz inputs, and readers for what RunTabular writes. Each test file gets
// its own copy (anonymous namespace).
#pragma once

#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/csv_loader.h"
#include "data/csv_table.h"
#include "data/dataset.h"
#include "data/npz_loader.h"
#include "data/rng.h"
#include "fl/config_reader.h"
#include "prep/prep.h"

#ifndef FL_SHARED_DATA_DIR
#define FL_SHARED_DATA_DIR "../shared/data"
#endif

namespace fs = std::filesystem;
using fl::StatusCode;
using fl::data::CsvOptions;
using fl::data::CsvReport;
using fl::data::NpyArray;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl_prep_tabular_test_") {}
};

// ---- spec helpers ----

json CsvSpec(const std::string& input, const std::string& output) {
  return json{{"format", "csv"},
              {"input", input},
              {"output", output},
              {"seed", 7},
              {"csv", {{"label_column", "y"}}},
              {"sites", {{{"name", "a"}}, {{"name", "b"}}}}};
}

std::string ParseError(const json& j) {
  auto s = fl::prep::ParseSpec(j, "spec.json");
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kInvalidArgument);
  return s.status().message();
}

fl::StatusOr<json> RunSpec(const json& j) {
  auto spec = fl::prep::ParseSpec(j, "spec.json");
  if (!spec.ok()) return spec.status();
  return fl::prep::RunTabular(*spec);
}

json ReadJson(const std::string& path) {
  auto j = fl::ParseJsonFile(path);
  REQUIRE(j.ok());
  return *j;
}

// ---- csv helpers ----

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Table ReadTable(const std::string& path, bool header, char delim = ',') {
  fl::data::internal::CsvFormat f;
  f.header = header;
  f.delimiter = delim;
  auto t = fl::data::internal::ReadCsvFile(path, f);
  INFO(path);
  REQUIRE(t.ok());
  Table out;
  out.header = t->header;
  for (auto& r : t->records) out.rows.push_back(r.fields);
  return out;
}

// Column `c` of every row as integers (the synthetic files keep a row id there).
std::vector<int> IntColumn(const Table& t, size_t c) {
  std::vector<int> out;
  for (const auto& r : t.rows) out.push_back(std::stoi(r.at(c)));
  return out;
}

std::vector<int> Sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A worker's csv options from a data section of sites.json (as the worker's options.cc reads
// them; keys it would not know are flagged).
CsvOptions FromSection(const json& d) {
  INFO(d.dump());
  REQUIRE(d.at("format") == "csv");
  for (const auto& [k, v] : d.items()) {
    CHECK((k == "format" || k == "path" || k == "csv"));
  }
  const std::set<std::string> known = {"header",      "skip_rows",  "label_column", "missing_values",
                                       "test_fraction", "split_seed", "standardize", "test_path",
                                       "classes",     "delimiter"};
  for (const auto& [k, v] : d.at("csv").items()) CHECK(known.count(k) == 1);
  CsvOptions o;
  o.path = d.at("path").get<std::string>();
  const json& c = d.at("csv");
  o.test_path = c.at("test_path").get<std::string>();
  o.header = c.at("header").get<bool>();
  const std::string delim = c.at("delimiter").get<std::string>();
  REQUIRE(delim.size() == 1);
  o.delimiter = delim[0];
  o.label_column = c.at("label_column").get<std::string>();
  o.missing_values = c.at("missing_values").get<std::vector<std::string>>();
  o.classes = c.at("classes").get<std::vector<std::string>>();
  return o;
}

// Deterministic pseudo-random label of row i among k classes.
int LabelOf(int i, int k, uint64_t salt = 3) {
  fl::data::SplitMix64 r(static_cast<uint64_t>(i) * 7919 + salt);
  return static_cast<int>(r.Below(static_cast<uint64_t>(k)));
}

// id,x,y rows with labels drawn from `k` classes; every `missing_every`-th row (if > 0) has
// label '?'.
std::string SimpleCsv(int n, int k, int missing_every = 0) {
  std::string s = "id,x,y\n";
  for (int i = 0; i < n; ++i) {
    const bool missing = missing_every > 0 && i % missing_every == missing_every - 1;
    s += std::to_string(i) + "," + std::to_string(0.5 * i - 3) + "," +
         (missing ? std::string("?") : std::to_string(LabelOf(i, k))) + "\n";
  }
  return s;
}

// Row ids of a site's train.csv and test.csv (id in column 0).
std::pair<std::vector<int>, std::vector<int>> SiteIds(const std::string& out, const std::string& site, bool header) {
  return {IntColumn(ReadTable(out + "/" + site + "/train.csv", header), 0),
          IntColumn(ReadTable(out + "/" + site + "/test.csv", header), 0)};
}

// ---- npz helpers ----

NpyArray Array(const std::string& dtype, std::vector<int64_t> shape, std::vector<uint8_t> data) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data = std::move(data);
  return a;
}

// n 2x3 uint8 images whose bytes identify the split (`tag`) and the row; labels (n, 1) uint8.
void AddSplit(std::map<std::string, NpyArray>* arrays, const std::string& prefix, int n, uint8_t tag,
              const std::vector<int>& labels) {
  std::vector<uint8_t> img, lab;
  for (int i = 0; i < n; ++i) {
    for (uint8_t b : {tag, static_cast<uint8_t>(i & 0xff), static_cast<uint8_t>(i >> 8),
                      static_cast<uint8_t>((i * 37) & 0xff), static_cast<uint8_t>(labels[i]), uint8_t{200}}) {
      img.push_back(b);
    }
    lab.push_back(static_cast<uint8_t>(labels[i]));
  }
  (*arrays)[prefix + "_images"] = Array("|u1", {n, 2, 3}, img);
  (*arrays)[prefix + "_labels"] = Array("|u1", {n, 1}, lab);
}

// Rows of an (N, ...) array as byte strings.
std::vector<std::string> RowBytes(const NpyArray& a) {
  std::vector<std::string> out;
  const auto n = static_cast<size_t>(a.shape.at(0));
  const size_t rb = n ? a.data.size() / n : 0;
  for (size_t r = 0; r < n; ++r) out.emplace_back(a.data.begin() + r * rb, a.data.begin() + (r + 1) * rb);
  return out;
}

// Image rows of a loaded dataset back as bytes (LoadNpz scales uint8 by 1/255).
std::vector<std::string> DatasetBytes(const fl::data::Dataset& d) {
  std::vector<std::string> out;
  const auto numel = static_cast<size_t>(d.SampleNumel());
  for (size_t i = 0; i < d.size(); ++i) {
    std::string r;
    for (size_t k = 0; k < numel; ++k) {
      r.push_back(static_cast<char>(static_cast<uint8_t>(std::lround(d.features[i * numel + k] * 255.0f))));
    }
    out.push_back(r);
  }
  return out;
}

std::map<std::string, NpyArray> ReadAllNpz(const std::string& path) {
  auto a = fl::data::ReadNpz(path, {});
  INFO(path);
  REQUIRE(a.ok());
  return *a;
}

}  // namespace
