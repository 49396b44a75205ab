#include "fl/cli.h"

#include <cstdio>

#include "fl/log.h"

namespace fl {

StatusOr<ParsedArgs> ParseArgs(int argc, char** argv, int first, const std::vector<FlagSpec>& specs) {
  ParsedArgs out;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h") a = "--help";
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

std::vector<FlagSpec> WithCommonFlags(std::vector<FlagSpec> specs) {
  auto has = [&](const char* name) {
    for (const auto& f : specs) {
      if (f.name == name) return true;
    }
    return false;
  };
  if (!has("log-level")) specs.push_back({"log-level", true, "debug | info | warning | error (default info)"});
  if (!has("log-format")) specs.push_back({"log-format", true, "text (default) | json: one JSON object a line"});
  if (!has("version")) specs.push_back({"version", false, "print the version and exit"});
  if (!has("help")) specs.push_back({"help", false, "show this help (also -h)"});
  return specs;
}

std::optional<int> ApplyCommonFlags(const ParsedArgs& args, const char* program) {
  if (args.Has("version")) {
    std::printf("%s %s\n", program, Version());
    return 0;
  }
  LogLevel level = LogLevel::kInfo;
  if (args.Has("log-level") && !ParseLogLevel(args.Get("log-level"), &level)) {
    std::fprintf(stderr, "%s: --log-level must be debug, info, warning or error\n", program);
    return 2;
  }
  SetLogLevel(level);
  LogFormat format = LogFormat::kText;
  if (args.Has("log-format") && !ParseLogFormat(args.Get("log-format"), &format)) {
    std::fprintf(stderr, "%s: --log-format must be text or json\n", program);
    return 2;
  }
  SetLogFormat(format);
  return std::nullopt;
}

const char* Version() { return FL_VERSION; }

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
