#include "fl/safetensors.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"
#include "fl/env.h"

namespace fl {
namespace {
constexpr size_t kMaxCheckpointBytes = size_t{1} << 33;  // 8 GiB: far above any model here
}  // namespace

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (uint64_t s : shape) n *= s;
  return n;
}

uint64_t ModelLayout::dimension() const {
  uint64_t d = 0;
  for (const auto& t : tensors) d += t.numel();
  return d;
}

Status ModelLayout::Validate(uint64_t max_dimension) const {
  if (tensors.empty()) return InvalidArgument("model layout has no tensors");
  if (tensors.size() > 10000) return InvalidArgument("model layout has too many tensors");
  uint64_t d = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name.size() > 256 || t.name.rfind("__", 0) == 0) {
      return InvalidArgument("bad tensor name '" + t.name.substr(0, 64) + "'");
    }
    if (t.shape.size() > 8) return InvalidArgument("tensor " + t.name + " has too many dimensions");
    uint64_t n = 1;
    for (uint64_t s : t.shape) {
      if (s == 0 || s > max_dimension) return InvalidArgument("tensor " + t.name + " has a bad shape");
      n *= s;
      if (n > max_dimension) return InvalidArgument("tensor " + t.name + " is too large");
    }
    d += n;
    if (d > max_dimension) return InvalidArgument("model has more than " + std::to_string(max_dimension) + " parameters");
  }
  return Status::Ok();
}

namespace {
std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}
}  // namespace

Status CheckFinite(const Checkpoint& c, const std::string& what) {
  size_t offset = 0;
  for (const TensorInfo& t : c.layout.tensors) {
    const size_t n = static_cast<size_t>(t.numel());
    for (size_t i = offset; i < offset + n && i < c.values.size(); ++i) {
      if (!std::isfinite(c.values[i])) {
        return DataLoss(what + ": tensor " + t.name + " holds a non-finite value (NaN or infinity)");
      }
    }
    offset += n;
  }
  return Status::Ok();
}

Status CheckSameLayout(const ModelLayout& expected, const ModelLayout& got, const std::string& what) {
  const size_t n = std::min(expected.tensors.size(), got.tensors.size());
  for (size_t i = 0; i < n; ++i) {
    const TensorInfo& e = expected.tensors[i];
    const TensorInfo& g = got.tensors[i];
    if (e.name != g.name) {
      return InvalidArgument(what + ": tensor " + std::to_string(i) + " is " + g.name + ", the model's is " + e.name);
    }
    if (e.shape != g.shape) {
      return InvalidArgument(what + ": tensor " + g.name + " has shape " + ShapeText(g.shape) + ", the model's " +
                             ShapeText(e.shape));
    }
  }
  if (expected.tensors.size() != got.tensors.size()) {
    return InvalidArgument(what + ": " + std::to_string(got.tensors.size()) + " tensors, the model has " +
                           std::to_string(expected.tensors.size()));
  }
  return Status::Ok();
}

std::string EncodeSafetensors(const Checkpoint& c) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& t : c.layout.tensors) {
    const uint64_t bytes = t.numel() * sizeof(float);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  if (!c.metadata.empty()) header["__metadata__"] = c.metadata;
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // data starts 8-byte aligned
  std::string out(8, '\0');
  const uint64_t hlen = h.size();
  std::memcpy(out.data(), &hlen, 8);
  out += h;
  out.append(reinterpret_cast<const char*>(c.values.data()), c.values.size() * sizeof(float));
  return out;
}

StatusOr<Checkpoint> DecodeSafetensors(const std::string& bytes, const std::string& what) {
  if (bytes.size() < 8) return DataLoss(what + ": truncated safetensors header");
  uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  if (hlen > 100'000'000 || 8 + hlen > bytes.size()) return DataLoss(what + ": bad safetensors header length");
  Checkpoint c;
  const uint64_t bytes_limit = bytes.size();
  try {
    StatusOr<nlohmann::json> parsed = ParseJsonText(bytes.substr(8, hlen), what + " header");
    if (!parsed.ok()) return DataLoss(parsed.status().message());
    const nlohmann::json& header = *parsed;
    // An array's items() would pass for tensors named "0", "1", ...
    if (!header.is_object()) return DataLoss(what + ": safetensors header is not a JSON object");
    struct Entry { uint64_t begin; TensorInfo info; };
    std::vector<Entry> entries;
    for (const auto& [name, v] : header.items()) {
      if (name == "__metadata__") {
        if (!v.is_object()) return DataLoss(what + ": __metadata__ is not an object");
        for (const auto& [k, mv] : v.items()) c.metadata[k] = mv.get<std::string>();
        continue;
      }
      if (v.at("dtype").get<std::string>() != "F32") return InvalidArgument(what + ": tensor " + name + " is not F32");
      Entry e{v.at("data_offsets").at(0).get<uint64_t>(), {name, v.at("shape").get<std::vector<uint64_t>>()}};
      const uint64_t end = v.at("data_offsets").at(1).get<uint64_t>();
      // The element count must not overflow: the file's own length bounds it.
      uint64_t bytes = sizeof(float);
      for (uint64_t dim : e.info.shape) {
        if (dim != 0 && bytes > bytes_limit / dim) return DataLoss(what + ": tensor " + name + " is larger than the file");
        bytes *= dim;
      }
      if (end < e.begin || end - e.begin != bytes) {
        return DataLoss(what + ": tensor " + name + " offsets do not match its shape");
      }
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.begin < b.begin; });
    uint64_t expect = 0;
    for (auto& e : entries) {
      if (e.begin != expect) return DataLoss(what + ": tensor data is not contiguous");
      expect += e.info.numel() * sizeof(float);
      c.layout.tensors.push_back(std::move(e.info));
    }
    if (8 + hlen + expect != bytes.size()) return DataLoss(what + ": data length does not match the header");
    c.values.resize(expect / sizeof(float));
    if (expect > 0) std::memcpy(c.values.data(), bytes.data() + 8 + hlen, expect);  // never memcpy to null
  } catch (const nlohmann::json::exception& e) {
    return DataLoss(what + ": bad safetensors header: " + e.what());
  }
  return c;
}

Status WriteSafetensors(Env& env, const std::string& path, const Checkpoint& c) {
  if (c.layout.dimension() != c.values.size()) return Internal("checkpoint size does not match its layout");
  return env.WriteFile(path, EncodeSafetensors(c));
}

StatusOr<Checkpoint> ReadSafetensors(Env& env, const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string bytes, env.ReadFile(path, kMaxCheckpointBytes));
  return DecodeSafetensors(bytes, path);
}

}  // namespace fl
