#include "fl/config_reader.h"

#include <algorithm>
#include <cmath>
#include <string_view>
#include <sstream>

#include "fl/env.h"

namespace fl {

namespace {

// The deepest nesting of objects and arrays in `text`, outside strings and comments.
size_t NestingDepth(std::string_view text) {
  size_t depth = 0, deepest = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      i = end == std::string_view::npos ? text.size() : end + 1;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

StatusOr<nlohmann::json> ParseJsonText(const std::string& text, const std::string& what) {
  // The parser and everything that walks a parsed document recurse: bound the depth first.
  if (NestingDepth(text) > kMaxJsonDepth) {
    return InvalidArgument(what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(what + ": not valid JSON: " + e.what());
  }
}

StatusOr<nlohmann::json> ParseJsonFile(Env& env, const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string text, env.ReadFile(path, 16u << 20));
  return ParseJsonText(text, path);
}

StatusOr<nlohmann::json> ParseJsonFile(const std::string& path) { return ParseJsonFile(Env::Default(), path); }

ConfigReader::ConfigReader(const nlohmann::json& object, std::string prefix)
    : ConfigReader(object, std::move(prefix), std::make_shared<std::vector<std::string>>()) {}

ConfigReader::ConfigReader(const nlohmann::json& object, std::string prefix,
                           std::shared_ptr<std::vector<std::string>> errors)
    : object_(object), prefix_(std::move(prefix)), errors_(std::move(errors)) {
  if (!object_.is_object() && !object_.is_null()) {
    errors_->push_back((prefix_.empty() ? std::string("config") : prefix_) + ": expected a JSON object");
    object_ = nlohmann::json::object();
  }
}

std::string ConfigReader::Path(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

void ConfigReader::Error(const std::string& key, const std::string& message) {
  errors_->push_back(Path(key) + ": " + message);
}

const nlohmann::json* ConfigReader::Find(const char* key) {
  seen_.insert(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) return nullptr;
  return &*it;
}

bool ConfigReader::Has(const char* key) const { return object_.is_object() && object_.contains(key); }

bool ConfigReader::Require(const char* key) {
  seen_.insert(key);
  if (Has(key)) return true;
  Error(key, "is required");
  return false;
}

namespace {
std::string Short(const nlohmann::json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}
std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
}  // namespace

void ConfigReader::Get(const char* key, std::string* out) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_string()) return Error(key, "expected a string, got " + Short(*v));
  *out = v->get<std::string>();
}

void ConfigReader::Get(const char* key, bool* out) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_boolean()) return Error(key, "expected true or false, got " + Short(*v));
  *out = v->get<bool>();
}

void ConfigReader::Get(const char* key, double* out, double min, double max) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_number()) return Error(key, "expected a number, got " + Short(*v));
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    return Error(key, "expected a number in [" + Num(min) + ", " + Num(max) + "], got " + Short(*v));
  }
  *out = d;
}

void ConfigReader::Get(const char* key, int64_t* out, int64_t min, int64_t max) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_number_integer()) return Error(key, "expected an integer, got " + Short(*v));
  const bool neg = v->is_number_unsigned() ? false : v->get<int64_t>() < 0;
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + Short(*v));
  }
  const int64_t i = v->get<int64_t>();
  (void)neg;
  if (i < min || i > max) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + Short(*v));
  }
  *out = i;
}

void ConfigReader::Get(const char* key, uint64_t* out, uint64_t min, uint64_t max) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_number_integer()) return Error(key, "expected an integer, got " + Short(*v));
  if (!v->is_number_unsigned() && v->get<int64_t>() < 0) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + Short(*v));
  }
  const uint64_t u = v->get<uint64_t>();
  if (u < min || u > max) {
    return Error(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + Short(*v));
  }
  *out = u;
}

void ConfigReader::Get(const char* key, uint32_t* out, uint32_t min, uint32_t max) {
  uint64_t v = *out;
  Get(key, &v, min, max);
  *out = static_cast<uint32_t>(v);
}

void ConfigReader::Get(const char* key, std::vector<double>* out, double min, double max) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_array()) return Error(key, "expected an array of numbers, got " + Short(*v));
  std::vector<double> r;
  for (const auto& e : *v) {
    if (!e.is_number() || !std::isfinite(e.get<double>()) || e.get<double>() < min || e.get<double>() > max) {
      return Error(key, "expected numbers in [" + Num(min) + ", " + Num(max) + "], got " + Short(e));
    }
    r.push_back(e.get<double>());
  }
  *out = std::move(r);
}

void ConfigReader::Get(const char* key, std::vector<std::string>* out) {
  const auto* v = Find(key);
  if (!v) return;
  if (!v->is_array()) return Error(key, "expected an array of strings, got " + Short(*v));
  std::vector<std::string> r;
  for (const auto& e : *v) {
    if (!e.is_string()) return Error(key, "expected strings, got " + Short(e));
    r.push_back(e.get<std::string>());
  }
  *out = std::move(r);
}

void ConfigReader::GetEnum(const char* key, std::string* out, std::initializer_list<const char*> allowed) {
  const auto* v = Find(key);
  if (!v) return;
  std::string list;
  for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + "\"" + a + "\"";
  if (!v->is_string()) return Error(key, "expected one of " + list + ", got " + Short(*v));
  const std::string s = v->get<std::string>();
  for (const char* a : allowed) {
    if (s == a) {
      *out = s;
      return;
    }
  }
  Error(key, "expected one of " + list + ", got " + Short(*v));
}

void ConfigReader::GetJson(const char* key, nlohmann::json* out) {
  const auto* v = Find(key);
  if (v) *out = *v;
}

ConfigReader ConfigReader::Child(const char* key) {
  const auto* v = Find(key);
  return ConfigReader(v ? *v : nlohmann::json::object(), Path(key), errors_);
}

Status ConfigReader::Finish() {
  if (object_.is_object()) {
    for (const auto& [k, v] : object_.items()) {
      if (!seen_.count(k)) Error(k, "unknown key");
    }
  }
  if (errors_->empty()) return Status::Ok();
  std::string all = errors_->front();
  for (size_t i = 1; i < errors_->size(); ++i) all += "\n  " + (*errors_)[i];
  return InvalidArgument(all);
}

}  // namespace fl
