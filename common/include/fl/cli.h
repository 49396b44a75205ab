// Command-line parsing shared by the binaries: "--name value", "--name=value" and
// boolean "--flag". Unknown flags and missing values are usage errors (exit code 2).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fl/status.h"

namespace fl {

struct FlagSpec {
  std::string name;      // without the leading dashes
  bool takes_value;
  std::string help;
};

struct ParsedArgs {
  std::map<std::string, std::string> values;  // flags with values
  std::map<std::string, bool> switches;       // boolean flags given
  std::vector<std::string> positional;
  bool Has(const std::string& n) const { return values.count(n) || switches.count(n); }
  std::string Get(const std::string& n, const std::string& def = "") const {
    auto it = values.find(n);
    return it == values.end() ? def : it->second;
  }
};

// "-h" is "--help".
StatusOr<ParsedArgs> ParseArgs(int argc, char** argv, int first, const std::vector<FlagSpec>& specs);
std::string FormatFlags(const std::vector<FlagSpec>& specs);

// `specs` plus the flags every binary takes: --log-level, --log-format, --version, --help.
std::vector<FlagSpec> WithCommonFlags(std::vector<FlagSpec> specs);
// Prints the version (--version: returns 0) or applies --log-level and --log-format
// (a bad value: returns 2); nullopt when the program goes on.
std::optional<int> ApplyCommonFlags(const ParsedArgs& args, const char* program);
// The project's version (CMake's project version).
const char* Version();

}  // namespace fl
