// fl-coordinator simulate: sizes a secure-aggregation round by running n workers and the
// coordinator's protocol in one process.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "fl/cli.h"
#include "fl/secagg/simulation.h"

namespace fl::coordinator {
namespace {

const std::vector<fl::FlagSpec> kSimulateFlags = {
    {"workers", true, "cohort size n (default 100)"},
    {"dimension", true, "model parameters d (default 100000)"},
    {"dropout", true, "fraction of workers that drop (default 0.05)"},
    {"drop-phase", true, "where they drop: before-advertise | before-share | before-masked-input (default) | "
                         "after-masked-input | before-unmask"},
    {"max-dropout", true, "tolerated dropout used to choose k and t (default 0.2)"},
    {"max-corrupt", true, "tolerated corrupt fraction used to choose k and t (default 0.1)"},
    {"threads", true, "threads running the simulated workers (default 2)"},
    {"help", false, "show this help"},
};

}  // namespace

int SimulateMain(int argc, char** argv) {
  auto args = fl::ParseArgs(argc, argv, 2, kSimulateFlags);
  if (!args.ok()) {
    std::fprintf(stderr, "fl-coordinator simulate: %s\n", args.status().message().c_str());
    return 2;
  }
  if (args->Has("help")) {
    std::printf("Usage: fl-coordinator simulate [options]\n\nRuns one secure-aggregation round with n "
                "simulated workers in this process and reports\nthe chosen k and t, time, coordinator CPU "
                "and memory, and bytes per worker.\n\nOptions:\n%s",
                fl::FormatFlags(kSimulateFlags).c_str());
    return 0;
  }
  fl::secagg::SimulationOptions o;
  double dropout = 0.05;
  fl::secagg::DropPoint where = fl::secagg::DropPoint::kBeforeMaskedInput;
  try {
    o.n = static_cast<uint32_t>(std::stoul(args->Get("workers", "100")));
    o.vector_length = std::stoull(args->Get("dimension", "100000")) + 1;
    dropout = std::stod(args->Get("dropout", "0.05"));
    o.security.max_dropout = std::stod(args->Get("max-dropout", "0.2"));
    o.security.max_corrupt = std::stod(args->Get("max-corrupt", "0.1"));
    o.threads = std::stoi(args->Get("threads", "2"));
  } catch (...) {
    std::fprintf(stderr, "fl-coordinator simulate: numeric flags need numbers (see --help)\n");
    return 2;
  }
  const std::string phase = args->Get("drop-phase", "before-masked-input");
  bool known = false;
  for (auto p : {fl::secagg::DropPoint::kBeforeAdvertise, fl::secagg::DropPoint::kBeforeShare,
                 fl::secagg::DropPoint::kBeforeMaskedInput, fl::secagg::DropPoint::kAfterMaskedInput,
                 fl::secagg::DropPoint::kBeforeUnmask}) {
    if (phase == fl::secagg::DropPointName(p)) {
      where = p;
      known = true;
    }
  }
  if (!known || o.n < 3 || o.n > 100000 || o.vector_length < 2 || o.vector_length > (1ull << 28) ||
      !(dropout >= 0 && dropout < 1) || o.threads < 1 || o.threads > 256 || !o.security.Validate().ok()) {
    std::fprintf(stderr, "fl-coordinator simulate: a value is out of range (see --help)\n");
    return 2;
  }
  const uint32_t drops = static_cast<uint32_t>(dropout * o.n + 0.5);
  for (uint32_t i = 0; i < drops; ++i) o.drops[o.n - i] = where;
  auto res = fl::secagg::RunSimulation(o, [&](uint32_t id) {
    fl::RingVector v(o.vector_length);
    for (size_t i = 0; i < v.size(); ++i) v[i] = id + static_cast<uint32_t>(i);
    return v;
  });
  nlohmann::json out = {{"workers", o.n},
                        {"dimension", o.vector_length - 1},
                        {"dropped", drops},
                        {"drop_phase", phase},
                        {"graph", res.params.complete ? "complete" : "harary"},
                        {"k", res.params.k},
                        {"t", res.params.t},
                        {"ok", res.status.ok()},
                        {"survivors", res.survivors.size()},
                        {"wall_seconds", res.wall_seconds},
                        {"coordinator_cpu_seconds", res.server_cpu_seconds},
                        {"coordinator_peak_bytes", res.server_peak_bytes},
                        {"max_bytes_sent_per_worker", res.max_bytes_sent_per_worker}};
  if (!res.status.ok()) out["abort_reason"] = res.status.message();
  std::printf("%s\n", out.dump(2).c_str());
  return res.status.ok() ? 0 : 1;
}

}  // namespace fl::coordinator
