// Strict reader for JSON configuration files. Every field read is checked for type and
// range; a field that is present but never read is reported as unknown. Errors name
// the field by its full path ("secagg.clip") and the allowed values. Binaries exit with
// code 2 on a config error (kExitConfigError, fl/exit_codes.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/env.h"
#include "fl/status.h"

namespace fl {

// Deepest nesting of objects and arrays accepted in any JSON text (configs, plans, rosters,
// checkpoint headers and metadata, state files): deeper input is refused before parsing.
constexpr size_t kMaxJsonDepth = 64;

// Parses JSON text; // and /* */ comments are allowed. `what` names it in errors.
StatusOr<nlohmann::json> ParseJsonText(const std::string& text, const std::string& what);

// Parses a JSON file read through `env` (Env::Default() without one); // and /* */
// comments are allowed.
StatusOr<nlohmann::json> ParseJsonFile(Env& env, const std::string& path);
StatusOr<nlohmann::json> ParseJsonFile(const std::string& path);

class ConfigReader {
 public:
  // `prefix` is the path of this object ("" at the top level).
  ConfigReader(const nlohmann::json& object, std::string prefix);

  // Optional fields: absent keeps the current value (the documented default).
  void Get(const char* key, std::string* out);
  void Get(const char* key, bool* out);
  void Get(const char* key, double* out, double min, double max);
  void Get(const char* key, int64_t* out, int64_t min, int64_t max);
  void Get(const char* key, uint64_t* out, uint64_t min, uint64_t max);
  void Get(const char* key, uint32_t* out, uint32_t min, uint32_t max);
  void Get(const char* key, std::vector<double>* out, double min, double max);
  void Get(const char* key, std::vector<std::string>* out);
  void GetEnum(const char* key, std::string* out, std::initializer_list<const char*> allowed);
  // A raw JSON value (object or anything), e.g. to pass along verbatim.
  void GetJson(const char* key, nlohmann::json* out);

  // Marks `key` as required: an error if it is absent.
  bool Require(const char* key);
  bool Has(const char* key) const;

  // Reader for a nested object (an empty one if the key is absent).
  ConfigReader Child(const char* key);

  void Error(const std::string& key, const std::string& message);

  // Reports unknown keys of this object; returns the first error of the whole tree.
  Status Finish();

 private:
  ConfigReader(const nlohmann::json& object, std::string prefix,
               std::shared_ptr<std::vector<std::string>> errors);
  const nlohmann::json* Find(const char* key);
  std::string Path(const std::string& key) const;

  nlohmann::json object_;
  std::string prefix_;
  std::set<std::string> seen_;
  std::shared_ptr<std::vector<std::string>> errors_;
};

}  // namespace fl
