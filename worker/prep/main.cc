// fl-prep: makes the data folders of several hospitals from one dataset (see prep.h).
#include <cstdio>
#include <iostream>

#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/env.h"
#include "prep/prep.h"

int main(int argc, char** argv) {
  const std::vector<fl::FlagSpec> flags = fl::WithCommonFlags({
      {"spec", true, "JSON spec: format, output, seed, sources and sites (see configs/prep-*.json)"},
      {"output", true, "override the spec's output folder"},
      {"input", true, "override the spec's input file (csv and npz specs)"},
      {"summary", true, "also write the summary JSON here"},
  });
  auto args = fl::ParseArgs(argc, argv, 1, flags);
  if (args.ok() && !args->Has("help")) {
    if (auto done = fl::ApplyCommonFlags(*args, "fl-prep")) return *done;
  }
  if (!args.ok() || args->Has("help") || !args->Has("spec")) {
    if (!args.ok()) std::fprintf(stderr, "fl-prep: %s\n", args.status().message().c_str());
    std::fprintf(args.ok() && args->Has("help") ? stdout : stderr,
                 "Usage: fl-prep --spec SPEC.json [--output DIR] [--input FILE] [--summary FILE]\n"
                 "Splits one dataset into hospitals with their own train/test splits and optional\n"
                 "morphological perturbation of their masks.\n\nOptions:\n%s",
                 fl::FormatFlags(flags).c_str());
    return args.ok() && args->Has("help") ? 0 : 2;
  }
  auto json = fl::ParseJsonFile(args->Get("spec"));
  if (!json.ok()) {
    std::fprintf(stderr, "fl-prep: %s\n", json.status().message().c_str());
    return 2;
  }
  auto spec = fl::prep::ParseSpec(*json, args->Get("spec"));
  if (!spec.ok()) {
    std::fprintf(stderr, "fl-prep: config error: %s\n", spec.status().message().c_str());
    return 2;
  }
  if (args->Has("output")) spec->output = args->Get("output");
  if (args->Has("input")) {
    if (spec->format != "csv" && spec->format != "npz") {
      std::fprintf(stderr, "fl-prep: --input applies to csv and npz specs (this one has sources)\n");
      return 2;
    }
    spec->input = args->Get("input");
  }
  auto summary = fl::prep::Run(*spec);
  if (!summary.ok()) {
    std::fprintf(stderr, "fl-prep: %s\n", summary.status().message().c_str());
    return summary.status().code() == fl::StatusCode::kInternal ? 1 : 2;
  }
  const std::string text = summary->dump(2) + "\n";
  if (args->Has("summary")) {
    if (auto s = fl::Env::Default().WriteFile(args->Get("summary"), text); !s.ok()) {
      std::fprintf(stderr, "fl-prep: %s\n", s.message().c_str());
      return 1;
    }
  }
  std::cout << text;
  return 0;
}
