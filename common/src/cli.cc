#include "fl/cli.h"

namespace fl {

StatusOr<ParsedArgs> ParseArgs(int argc, char** argv, int first, const std::vector<FlagSpec>& specs) {
  ParsedArgs out;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_inline = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline = true;
    }
    const FlagSpec* spec = nullptr;
    for (const auto& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (!spec) return InvalidArgument("unknown flag --" + name + " (see --help)");
    if (spec->takes_value) {
      if (!has_inline) {
        if (i + 1 >= argc) return InvalidArgument("--" + name + " needs a value");
        value = argv[++i];
      }
      out.values[name] = value;
    } else {
      if (has_inline) return InvalidArgument("--" + name + " takes no value");
      out.switches[name] = true;
    }
  }
  return out;
}

std::string FormatFlags(const std::vector<FlagSpec>& specs) {
  std::string s;
  for (const auto& f : specs) {
    std::string left = "  --" + f.name + (f.takes_value ? " VALUE" : "");
    if (left.size() < 28) left.resize(28, ' ');
    else left += "  ";
    s += left + f.help + "\n";
  }
  return s;
}

}  // namespace fl
