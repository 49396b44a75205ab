// fl-worker: trains on one hospital's data and takes part in masked aggregation.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "client.h"
#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/log.h"
#include "options.h"

namespace {

const std::vector<fl::FlagSpec> kFlags = {
    {"config", true, "worker JSON config (see configs/worker-*.json)"},
    {"coordinator", true, "override the config's coordinator endpoint"},
    {"audit-plaintext-dir", true,
     "AUDIT ONLY: write this worker's unmasked quantised update of every round here (docs/audit.md)"},
    {"plan", true, "local mode: a coordinator config whose \"plan\" to train"},
    {"rounds", true, "local mode: number of rounds (each = the plan's local epochs)"},
    {"log-level", true, "debug | info | warning | error (default info)"},
    {"help", false, "show this help"},
};

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: fl-worker --config FILE [options]           join a federation\n"
               "       fl-worker local --config FILE --plan COORDINATOR.json --rounds N\n"
               "                                                   train on this hospital's data alone\n\n"
               "Options:\n%s\n"
               "Exit codes: 0 done, 1 runtime or protocol error, 2 bad config, usage or data.\n",
               fl::FormatFlags(kFlags).c_str());
}

int Fail(int code, const std::string& msg) {
  std::fprintf(stderr, "fl-worker: %s\n", msg.c_str());
  return code;
}

// Trains the plan on this hospital's data only and prints the test metrics as JSON.
int RunLocal(const fl::worker::WorkerOptions& options, const fl::ParsedArgs& args) {
  if (!args.Has("plan") || !args.Has("rounds")) return Fail(2, "local mode needs --plan and --rounds");
  int64_t rounds = 0;
  try {
    rounds = std::stoll(args.Get("rounds"));
  } catch (...) {
  }
  if (rounds < 1 || rounds > 100000) return Fail(2, "--rounds must be an integer in [1, 100000]");
  auto coordinator_json = fl::ParseJsonFile(args.Get("plan"));
  if (!coordinator_json.ok()) return Fail(2, coordinator_json.status().message());
  const nlohmann::json plan_json = coordinator_json->is_object() && coordinator_json->contains("plan")
                                       ? (*coordinator_json)["plan"]
                                       : nlohmann::json::object();
  auto plan = fl::ParsePlan(plan_json, "plan");
  if (!plan.ok()) return Fail(2, "config error: " + plan.status().message());
  auto data = fl::worker::LoadData(options.data);
  if (!data.ok()) return Fail(2, data.status().message());
  auto trainer = fl::worker::Trainer::Create(*plan, std::move(data).value(), options.device,
                                             plan->training.seed + options.seed + 1);
  if (!trainer.ok()) return Fail(1, trainer.status().message());
  double last_loss = 0;
  for (int64_t r = 1; r <= rounds; ++r) {
    auto stats = (*trainer)->Train();
    if (!stats.ok()) return Fail(1, stats.status().message());
    last_loss = stats->train_loss;
    FL_LOG(kInfo) << "local round " << r << "/" << rounds << ": train loss " << stats->train_loss;
  }
  auto eval = (*trainer)->Evaluate();
  if (!eval.ok()) return Fail(1, eval.status().message());
  nlohmann::json out = {{"name", options.name},         {"mode", "local"},
                        {"rounds", rounds},             {"train_loss", last_loss},
                        {"test_loss", eval->loss},      {"test_accuracy", eval->accuracy},
                        {"test_samples", eval->samples}};
  if (std::isfinite(eval->auroc)) out["test_auroc"] = eval->auroc;
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  int first = 1;
  bool local = false;
  if (argc > 1 && std::string(argv[1]) == "local") {
    local = true;
    first = 2;
  }
  auto args = fl::ParseArgs(argc, argv, first, kFlags);
  if (!args.ok()) return Fail(2, args.status().message());
  if (args->Has("help")) {
    Usage(stdout);
    return 0;
  }
  if (!args->positional.empty()) return Fail(2, "unexpected argument '" + args->positional[0] + "' (see --help)");
  fl::LogLevel level = fl::LogLevel::kInfo;
  if (args->Has("log-level") && !fl::ParseLogLevel(args->Get("log-level"), &level)) {
    return Fail(2, "--log-level must be debug, info, warning or error");
  }
  fl::SetLogLevel(level);
  if (!args->Has("config")) return Fail(2, "--config FILE is required (see --help)");
  const std::string path = args->Get("config");
  auto json = fl::ParseJsonFile(path);
  if (!json.ok()) return Fail(2, "config error: " + json.status().message());
  auto options = fl::worker::ParseWorkerOptions(*json, path);
  if (!options.ok()) return Fail(2, "config error: " + options.status().message());
  if (args->Has("coordinator")) options->coordinator = args->Get("coordinator");
  fl::SetLogComponent("worker:" + options->name);
  if (local) return RunLocal(*options, *args);
  if (args->Has("plan") || args->Has("rounds")) return Fail(2, "--plan and --rounds belong to local mode");

  auto data = fl::worker::LoadData(options->data);
  if (!data.ok()) return Fail(2, data.status().message());
  fl::worker::WorkerClient client(std::move(options).value(), std::move(data).value(),
                                  args->Get("audit-plaintext-dir"));
  return client.Run();
}
