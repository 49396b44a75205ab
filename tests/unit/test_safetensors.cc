// Tests for safetensors checkpoints (fl/safetensors.h).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/env.h"
#include "fl/safetensors.h"

using Catch::Matchers::Contains;
using fl::Checkpoint;
using fl::DecodeSafetensors;
using fl::EncodeSafetensors;
using fl::ModelLayout;
using fl::StatusCode;
using fl::TensorInfo;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

Checkpoint SmallCheckpoint() {
  Checkpoint c;
  // Not in alphabetical order: the data order must survive the JSON object's key order.
  c.layout.tensors = {{"z.weight", {3, 4}}, {"a.bias", {3}}, {"m.weight", {2, 3}}};
  c.values.resize(c.layout.dimension());
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3.f, 3.f);
  for (auto& v : c.values) v = u(rng);
  c.values[0] = -0.0f;
  c.values[1] = std::numeric_limits<float>::denorm_min();
  c.values[2] = std::numeric_limits<float>::max();
  c.metadata = {{"format", "pt"}, {"model_version", "7"}};
  return c;
}

uint64_t HeaderLength(const std::string& bytes) {
  uint64_t h = 0;
  std::memcpy(&h, bytes.data(), 8);
  return h;
}

// A safetensors file from an explicit header and `data_bytes` zero bytes of data.
std::string Build(const json& header, size_t data_bytes) {
  const std::string h = header.dump();
  std::string out(8, '\0');
  const uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  return out + h + std::string(data_bytes, '\0');
}

json F32(std::vector<uint64_t> shape, uint64_t begin, uint64_t end) {
  return {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("fl_safetensors_test_" + std::to_string(std::random_device{}()) +
                                         "_" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> Entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

}  // namespace

TEST_CASE("safetensors: encode/decode round trip keeps layout, values and metadata", "[safetensors]") {
  const Checkpoint c = SmallCheckpoint();
  REQUIRE(c.layout.dimension() == 21);
  const std::string bytes = EncodeSafetensors(c);
  auto d = DecodeSafetensors(bytes, "ckpt");
  REQUIRE(d.ok());
  REQUIRE(d->layout.tensors.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(d->layout.tensors[i].name == c.layout.tensors[i].name);
    CHECK(d->layout.tensors[i].shape == c.layout.tensors[i].shape);
  }
  REQUIRE(d->values.size() == c.values.size());
  CHECK(std::memcmp(d->values.data(), c.values.data(), c.values.size() * 4) == 0);  // bitwise
  CHECK(d->metadata == c.metadata);
  CHECK(EncodeSafetensors(*d) == bytes);

  Checkpoint no_meta = c;
  no_meta.metadata.clear();
  const std::string b2 = EncodeSafetensors(no_meta);
  CHECK(b2.find("__metadata__") == std::string::npos);
  auto d2 = DecodeSafetensors(b2, "ckpt");
  REQUIRE(d2.ok());
  CHECK(d2->metadata.empty());
}

TEST_CASE("safetensors: header layout follows the format and data is 8-byte aligned", "[safetensors]") {
  for (size_t len = 1; len <= 16; ++len) {  // every padding remainder
    Checkpoint c;
    c.layout.tensors = {{std::string(len, 'w'), {2, 2}}, {"b", {1}}};
    c.values = {1.f, 2.f, 3.f, 4.f, 5.f};
    if (len % 2) c.metadata["k"] = std::string(len, 'v');
    const std::string bytes = EncodeSafetensors(c);
    const uint64_t hlen = HeaderLength(bytes);
    INFO("name length " << len);
    CHECK((8 + hlen) % 8 == 0);
    REQUIRE(bytes.size() == 8 + hlen + 5 * sizeof(float));
    const json h = json::parse(bytes.substr(8, hlen));  // padding is whitespace
    const json& w = h.at(std::string(len, 'w'));
    CHECK(w.at("dtype") == "F32");
    CHECK(w.at("shape") == json({2, 2}));
    CHECK(w.at("data_offsets") == json({0, 16}));
    CHECK(h.at("b").at("data_offsets") == json({16, 20}));
    CHECK(std::memcmp(bytes.data() + 8 + hlen, c.values.data(), 20) == 0);
  }
}

TEST_CASE("safetensors: every truncation and an extra byte are rejected", "[safetensors]") {
  const std::string bytes = EncodeSafetensors(SmallCheckpoint());
  size_t accepted = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeSafetensors(bytes.substr(0, n), "cut");
    if (d.ok()) ++accepted;
    else CHECK(d.status().code() == StatusCode::kDataLoss);
  }
  CHECK(accepted == 0);
  CHECK_FALSE(DecodeSafetensors(bytes + '\0', "long").ok());
}

TEST_CASE("safetensors: malformed headers are rejected", "[safetensors]") {
  auto err = [](const std::string& bytes) {
    auto d = DecodeSafetensors(bytes, "bad.safetensors");
    REQUIRE_FALSE(d.ok());
    CHECK_THAT(d.status().message(), Contains("bad.safetensors"));
    return d.status();
  };
  // Wrong dtype.
  json h = {{"w", F32({2}, 0, 8)}};
  h["w"]["dtype"] = "F16";
  CHECK_THAT(err(Build(h, 8)).message(), Contains("not F32"));
  h["w"]["dtype"] = "F64";
  CHECK_FALSE(DecodeSafetensors(Build(h, 8), "x").ok());
  // Offsets that do not match the shape.
  CHECK_THAT(err(Build({{"w", F32({2, 2}, 0, 12)}}, 12)).message(), Contains("offsets do not match"));
  CHECK_THAT(err(Build({{"w", F32({2}, 8, 0)}}, 8)).message(), Contains("offsets do not match"));
  // Gap, overlap, and data longer than the header says.
  CHECK_THAT(err(Build({{"a", F32({2}, 0, 8)}, {"b", F32({2}, 16, 24)}}, 24)).message(),
             Contains("not contiguous"));
  CHECK_THAT(err(Build({{"a", F32({2}, 0, 8)}, {"b", F32({2}, 0, 8)}}, 16)).message(),
             Contains("not contiguous"));
  CHECK_THAT(err(Build({{"a", F32({2}, 0, 8)}}, 12)).message(), Contains("does not match"));
  CHECK_THAT(err(Build({{"a", F32({2}, 0, 8)}}, 4)).message(), Contains("does not match"));
  // Missing fields, wrong JSON types, non-string metadata, non-JSON header.
  CHECK(err(Build({{"a", {{"dtype", "F32"}, {"shape", {2}}}}}, 8)).code() == StatusCode::kDataLoss);
  CHECK(err(Build({{"a", {{"dtype", "F32"}, {"shape", "2"}, {"data_offsets", {0, 8}}}}}, 8)).code() ==
        StatusCode::kDataLoss);
  CHECK(err(Build({{"a", F32({2}, 0, 8)}, {"__metadata__", {{"k", 1}}}}, 8)).code() == StatusCode::kDataLoss);
  CHECK(err(Build(json::array({1, 2}), 0)).code() == StatusCode::kDataLoss);
  std::string not_json = Build({{"a", F32({2}, 0, 8)}}, 8);
  not_json[8] = '#';
  CHECK(err(not_json).code() == StatusCode::kDataLoss);
  // Header length beyond the file, or absurd.
  std::string huge = Build({{"a", F32({2}, 0, 8)}}, 8);
  for (uint64_t hl : {uint64_t{1} << 20, uint64_t{200'000'000}, ~uint64_t{0}, ~uint64_t{0} - 7}) {
    std::memcpy(huge.data(), &hl, 8);
    CHECK(err(huge).code() == StatusCode::kDataLoss);
  }
  // Zero-size tensors are legal safetensors.
  auto empty = DecodeSafetensors(Build({{"a", F32({0}, 0, 0)}, {"b", F32({1}, 0, 4)}}, 4), "x");
  REQUIRE(empty.ok());
  CHECK(empty->values.size() == 1);
}

TEST_CASE("safetensors: a shape whose byte size overflows 64 bits is rejected",
          "[safetensors]") {
  // numel * 4 wraps modulo 2^64, so these offsets "match" the shape; the decoder then
  // returns a checkpoint whose values.size() != layout.dimension().
  for (const auto& shape : {std::vector<uint64_t>{uint64_t{1} << 62},
                            std::vector<uint64_t>{(uint64_t{1} << 62) + 1},
                            std::vector<uint64_t>{uint64_t{1} << 32, uint64_t{1} << 32}}) {
    TensorInfo t{"w", shape};
    const uint64_t bytes = t.numel() * sizeof(float);  // wrapped
    auto d = DecodeSafetensors(Build({{"w", F32(shape, 0, bytes)}}, bytes), "overflow");
    INFO("shape[0] = " << shape[0] << ", wrapped byte size " << bytes);
    if (d.ok()) CHECK(d->values.size() == d->layout.dimension());
    CHECK_FALSE(d.ok());
  }
}

TEST_CASE("safetensors: ModelLayout::Validate limits", "[safetensors]") {
  auto bad = [](const ModelLayout& l, uint64_t max, const char* needle) {
    fl::Status s = l.Validate(max);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains(needle));
  };
  ModelLayout l;
  bad(l, 100, "no tensors");
  l.tensors = {{"w", {4, 5}}, {"b", {5}}, {"s", {}}};  // 20 + 5 + 1 (scalar)
  CHECK(l.dimension() == 26);
  CHECK(l.Validate(26).ok());
  bad(l, 25, "more than 25 parameters");
  bad(ModelLayout{{{"w", {4, 5}}}}, 19, "too large");
  bad(ModelLayout{{{"w", {4, 0}}}}, 100, "bad shape");
  bad(ModelLayout{{{"w", {101}}}}, 100, "bad shape");
  bad(ModelLayout{{{"", {1}}}}, 100, "bad tensor name");
  bad(ModelLayout{{{"__metadata__", {1}}}}, 100, "bad tensor name");
  bad(ModelLayout{{{std::string(257, 'n'), {1}}}}, 100, "bad tensor name");
  CHECK(ModelLayout{{{std::string(256, 'n'), {1}}}}.Validate(100).ok());
  bad(ModelLayout{{{"w", std::vector<uint64_t>(9, 1)}}}, 100, "too many dimensions");
  CHECK(ModelLayout{{{"w", std::vector<uint64_t>(8, 1)}}}.Validate(100).ok());
  ModelLayout many;
  many.tensors.assign(10001, TensorInfo{"t", {1}});
  bad(many, 1'000'000, "too many tensors");
  many.tensors.resize(10000);
  CHECK(many.Validate(1'000'000).ok());
  // Products must not overflow before the limit check.
  bad(ModelLayout{{{"w", {uint64_t{1} << 31, uint64_t{1} << 31, 4}}}}, uint64_t{1} << 31, "too large");
}

TEST_CASE("safetensors: WriteSafetensors and ReadSafetensors through a temp dir", "[safetensors]") {
  TempDir dir;
  const std::string path = dir.File("model-v000001.safetensors");
  Checkpoint c = SmallCheckpoint();
  REQUIRE(fl::WriteSafetensors(fl::Env::Default(), path, c).ok());
  CHECK(dir.Entries() == std::vector<std::string>{"model-v000001.safetensors"});
  auto r = fl::ReadSafetensors(fl::Env::Default(), path);
  REQUIRE(r.ok());
  CHECK(r->values == c.values);
  CHECK(r->metadata == c.metadata);
  CHECK((fs::status(path).permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read));

  // Overwrite in place: still a single file, new contents.
  c.values[5] = 123.f;
  c.metadata["model_version"] = "8";
  REQUIRE(fl::WriteSafetensors(fl::Env::Default(), path, c).ok());
  CHECK(dir.Entries() == std::vector<std::string>{"model-v000001.safetensors"});
  r = fl::ReadSafetensors(fl::Env::Default(), path);
  REQUIRE(r.ok());
  CHECK(r->values[5] == 123.f);
  CHECK(r->metadata.at("model_version") == "8");

  // Values that do not match the layout: nothing written.
  Checkpoint broken = c;
  broken.values.pop_back();
  CHECK(fl::WriteSafetensors(fl::Env::Default(), dir.File("broken.safetensors"), broken).code() == StatusCode::kInternal);
  CHECK(dir.Entries() == std::vector<std::string>{"model-v000001.safetensors"});

  CHECK(fl::ReadSafetensors(fl::Env::Default(), dir.File("missing.safetensors")).status().code() == StatusCode::kNotFound);
  REQUIRE(fl::Env::Default().WriteFile(dir.File("garbage.safetensors"), "not a checkpoint").ok());
  CHECK(fl::ReadSafetensors(fl::Env::Default(), dir.File("garbage.safetensors")).status().code() == StatusCode::kDataLoss);
}
