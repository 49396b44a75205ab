// Command-line parsing shared by the binaries: "--name value", "--name=value" and
// boolean "--flag". Unknown flags and missing values are usage errors (exit code 2).
#pragma once

#include <map>
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

StatusOr<ParsedArgs> ParseArgs(int argc, char** argv, int first, const std::vector<FlagSpec>& specs);
std::string FormatFlags(const std::vector<FlagSpec>& specs);

}  // namespace fl
