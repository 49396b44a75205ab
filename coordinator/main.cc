// fl-coordinator: schedules rounds, relays opaque messages and sums masked updates.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/endpoint.h"
#include "fl/env.h"
#include "fl/exit_codes.h"
#include "fl/log.h"
#include "fl/secagg/simulation.h"
#include "fl/zmq_transport.h"
#include "options.h"
#include "coordinator.h"

namespace {

const std::vector<fl::FlagSpec> kFlags = {
    {"config", true, "coordinator JSON config (see configs/coordinator.json)"},
    {"audit-dir", true, "record every payload received under this directory (docs/audit.md)"},
    {"listen", true, "override the config's listen endpoint, e.g. tcp://0.0.0.0:7000"},
    {"state-dir", true, "override the config's state_dir"},
    {"log-level", true, "debug | info | warning | error (default info)"},
    {"help", false, "show this help"},
};

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

// Sizes a round: runs n workers and the coordinator's protocol in one process.
int Simulate(int argc, char** argv) {
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

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: fl-coordinator --config FILE [options]\n"
               "       fl-coordinator simulate [options]   size a round in one process (see simulate --help)\n\n"
               "Runs the federation: admits workers, schedules rounds, relays the messages of\n"
               "the masking protocol and sums masked updates. It never sees a single\n"
               "hospital's update, only the cohort sum.\n\nOptions:\n%s\n"
               "Exit codes: 0 done, 1 runtime error, 2 bad config or usage,\n"
               "3 too few workers connected in time, 4 rounds kept failing.\n",
               fl::FormatFlags(kFlags).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  fl::SetLogComponent("coordinator");
  if (argc > 1 && std::string(argv[1]) == "simulate") return Simulate(argc, argv);
  auto args = fl::ParseArgs(argc, argv, 1, kFlags);
  if (!args.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", args.status().message().c_str());
    return fl::kExitConfigError;
  }
  if (args->Has("help")) {
    Usage(stdout);
    return 0;
  }
  if (!args->positional.empty()) {
    std::fprintf(stderr, "fl-coordinator: unexpected argument '%s' (see --help)\n", args->positional[0].c_str());
    return fl::kExitConfigError;
  }
  fl::LogLevel level = fl::LogLevel::kInfo;
  if (args->Has("log-level") && !fl::ParseLogLevel(args->Get("log-level"), &level)) {
    std::fprintf(stderr, "fl-coordinator: --log-level must be debug, info, warning or error\n");
    return fl::kExitConfigError;
  }
  fl::SetLogLevel(level);
  if (!args->Has("config")) {
    std::fprintf(stderr, "fl-coordinator: --config FILE is required (see --help)\n");
    return fl::kExitConfigError;
  }
  const std::string path = args->Get("config");
  auto json = fl::ParseJsonFile(path);
  if (!json.ok()) {
    std::fprintf(stderr, "fl-coordinator: config error: %s\n", json.status().message().c_str());
    return fl::kExitConfigError;
  }
  auto options = fl::coordinator::ParseCoordinatorOptions(*json, path);
  if (!options.ok()) {
    std::fprintf(stderr, "fl-coordinator: config error: %s\n", options.status().message().c_str());
    return fl::kExitConfigError;
  }
  if (args->Has("listen")) options->listen = args->Get("listen");
  if (auto s = fl::CheckEndpoint(options->listen, /*for_binding=*/true); !s.ok()) {
    std::fprintf(stderr, "fl-coordinator: --listen: %s\n", s.message().c_str());
    return fl::kExitConfigError;
  }
  if (args->Has("state-dir")) options->state_dir = args->Get("state-dir");
  auto transport = fl::ListenZmq(options->listen, fl::coordinator::CoordinatorTransportOptions(*options));
  if (!transport.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", transport.status().message().c_str());
    return fl::kExitRuntimeError;
  }
  fl::coordinator::Coordinator coordinator(std::move(options).value(), **transport, fl::Env::Default(),
                                           args->Get("audit-dir"));
  return coordinator.Run();
}
