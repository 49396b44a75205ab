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
#include "fl/zmq_transport.h"
#include "options.h"
#include "commands.h"
#include "coordinator.h"
#include "http_endpoint.h"
#include "metered_transport.h"
#include "metrics.h"
#include "transport_setup.h"

namespace {

const std::vector<fl::FlagSpec> kFlags = fl::WithCommonFlags({
    {"config", true, "coordinator JSON config (see configs/coordinator.json)"},
    {"audit-dir", true, "record every payload received under this directory (docs/audit.md)"},
    {"listen", true, "override the config's listen endpoint, e.g. tcp://0.0.0.0:7000"},
    {"state-dir", true, "override the config's state_dir"},
    {"http-listen", true, "override the config's http_listen (HOST:PORT for /healthz, /readyz, /metrics)"},
});

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: fl-coordinator --config FILE [options]\n"
               "       fl-coordinator simulate [options]   size a round in one process (see simulate --help)\n"
               "       fl-coordinator keygen --out FILE     make the coordinator's transport key\n"
               "       fl-coordinator privacy --sigma1 S1 --sigma2 S2 [--queries Q]\n"
               "                                            the privacy budget of a private vote (JSON)\n\n"
               "Runs the federation: admits workers, schedules rounds, relays the messages of\n"
               "the masking protocol and sums masked updates. It never sees a single\n"
               "hospital's update, only the cohort sum.\n\nOptions:\n%s\n"
               "Exit codes: 0 done, 1 runtime error, 2 bad config or usage,\n"
               "3 too few workers connected in time, 4 rounds kept failing.\n",
               fl::FormatFlags(kFlags).c_str());
}

fl::coordinator::Coordinator* volatile g_coordinator = nullptr;

extern "C" void RequestStop(int) {
  if (g_coordinator) g_coordinator->RequestStop();  // sets an atomic flag: signal-safe
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  fl::SetLogComponent("coordinator");
  if (argc > 1 && std::string(argv[1]) == "simulate") return fl::coordinator::SimulateMain(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "keygen") return fl::coordinator::KeygenMain(argc, argv);
  if (argc > 1 && std::string(argv[1]) == "privacy") return fl::coordinator::PrivacyMain(argc, argv);
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
  if (auto done = fl::ApplyCommonFlags(*args, "fl-coordinator")) return *done;
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
  if (options->transport_security == "insecure" && !fl::IsLoopbackEndpoint(options->listen)) {
    std::fprintf(stderr, "fl-coordinator: plain TCP (transport.security \"insecure\") is refused on %s: use CURVE\n",
                 options->listen.c_str());
    return fl::kExitConfigError;
  }
  if (args->Has("state-dir")) options->state_dir = args->Get("state-dir");
  auto transport_options = fl::coordinator::CoordinatorTransportOptions(*options, fl::Env::Default());
  if (!transport_options.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", transport_options.status().message().c_str());
    return fl::kExitConfigError;
  }
  auto transport = fl::ListenZmq(options->listen, *transport_options);
  if (!transport.ok()) {
    std::fprintf(stderr, "fl-coordinator: %s\n", transport.status().message().c_str());
    return fl::kExitRuntimeError;
  }
  if (args->Has("http-listen")) options->http_listen = args->Get("http-listen");
  fl::coordinator::CoordinatorMetrics metrics(fl::Env::Default());
  fl::coordinator::MeteredTransport metered(**transport, metrics);
  fl::coordinator::HttpEndpoint http(metrics);
  if (!options->http_listen.empty()) {
    if (auto s = http.Start(options->http_listen); !s.ok()) {
      std::fprintf(stderr, "fl-coordinator: %s\n", s.message().c_str());
      return fl::kExitRuntimeError;
    }
    FL_LOG(kInfo) << "HTTP on " << options->http_listen.substr(0, options->http_listen.rfind(':')) << ":" << http.port()
                  << " (/healthz, /readyz, /metrics)";
  }
  fl::coordinator::Coordinator coordinator(std::move(options).value(), metered, fl::Env::Default(),
                                           args->Get("audit-dir"), metrics);
  // SIGTERM (Kubernetes) or Ctrl-C: the round in progress is abandoned, nothing is half
  // written, and the run continues from state_dir on the next start.
  g_coordinator = &coordinator;
  std::signal(SIGTERM, RequestStop);
  std::signal(SIGINT, RequestStop);
  const int code = coordinator.Run();
  g_coordinator = nullptr;
  return code;
}
