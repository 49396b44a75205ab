// fl-worker: trains on one hospital's data and takes part in masked aggregation.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "client.h"
#include "fl/crypto.h"
#include "fl/file_util.h"
#include "fl/secagg/identity.h"
#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/log.h"
#include "offline.h"
#include "options.h"

namespace {

const std::vector<fl::FlagSpec> kFlags = {
    {"config", true, "worker JSON config (see configs/worker-*.json)"},
    {"coordinator", true, "override the config's coordinator endpoint"},
    {"audit-plaintext-dir", true,
     "AUDIT ONLY: write this worker's unmasked quantised update of every round here (docs/audit.md)"},
    {"plan", true, "local mode: a coordinator config whose \"plan\" to train"},
    {"rounds", true, "local mode: number of rounds (each = the plan's local epochs or steps)"},
    {"output-model", true, "local mode: write the trained model here (safetensors, with its plan)"},
    {"model", true, "evaluate, predict: a checkpoint (the coordinator's model-vNNNNNN.safetensors)"},
    {"robust-eps", true, "evaluate: also robust accuracy / Dice under PGD-20 at these radii (e.g. 0.0078,0.0157)"},
    {"input", true, "predict: an image, a volume, or a folder of them (npz/csv: a data file)"},
    {"name", true, "keygen: the hospital's name"},
    {"out", true, "keygen: where to write the identity key (mode 600); predict: output folder"},
    {"roster", true, "keygen: add the public key to this roster file (created if missing)"},
    {"crash-before", true, "TESTING: STEP:N exits abruptly instead of sending STEP (advertise, share, "
                           "masked_input, signature, unmask) in the N-th round joined"},
    {"log-level", true, "debug | info | warning | error (default info)"},
    {"help", false, "show this help"},
};

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: fl-worker --config FILE [options]           join a federation\n"
               "       fl-worker local --config FILE --plan COORDINATOR.json --rounds N\n"
               "                                                   train on this hospital's data alone\n"
               "       fl-worker evaluate --config FILE --model CKPT  test metrics of a saved model (JSON)\n"
               "       fl-worker predict --config FILE --model CKPT --input PATH --out DIR\n"
               "                                                   masks (PNG/NIfTI) or class probabilities (CSV)\n"
               "       fl-worker keygen --name NAME --out KEY.json [--roster ROSTER.json]\n"
               "                                                   make this hospital's identity key\n\n"
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
                                             fl::worker::TrainingSeed(options, plan->training.seed));
  if (!trainer.ok()) return Fail(1, trainer.status().message());
  double last_loss = 0;
  for (int64_t r = 1; r <= rounds; ++r) {
    auto stats = (*trainer)->Train(r - 1);
    if (!stats.ok()) return Fail(1, stats.status().message());
    last_loss = stats->train_loss;
    FL_LOG(kInfo) << "local round " << r << "/" << rounds << ": train loss " << stats->train_loss;
  }
  auto eval = (*trainer)->Evaluate();
  if (!eval.ok()) return Fail(1, eval.status().message());
  if (args.Has("output-model")) {
    fl::Checkpoint c{(*trainer)->Layout(), (*trainer)->Parameters(), fl::ModelMetadata(*plan)};
    if (auto s = fl::WriteSafetensors(args.Get("output-model"), c); !s.ok()) return Fail(1, s.message());
  }
  nlohmann::json out = {{"name", options.name},         {"mode", "local"},
                        {"rounds", rounds},             {"train_loss", last_loss},
                        {"test_loss", eval->loss},      {"test_accuracy", eval->accuracy},
                        {"test_samples", eval->samples}};
  if (std::isfinite(eval->auroc)) out["test_auroc"] = eval->auroc;
  if (std::isfinite(eval->dice)) out["test_dice"] = eval->dice;
  if (std::isfinite(eval->iou)) out["test_iou"] = eval->iou;
  for (const auto& [name, v] : eval->robust) out[name] = v;
  std::cout << out.dump() << std::endl;
  return 0;
}

// Makes an Ed25519 identity key and adds its public half to a roster file.
int RunKeygen(const fl::ParsedArgs& args) {
  if (!args.Has("name") || !args.Has("out")) return Fail(2, "keygen needs --name and --out");
  const std::string name = args.Get("name");
  if (name.empty() || name.size() > 64) return Fail(2, "--name must be 1-64 characters");
  if (fl::FileExists(args.Get("out"))) return Fail(2, args.Get("out") + " exists; refusing to overwrite a key");
  if (!fl::crypto::Init().ok()) return Fail(1, "libsodium initialisation failed");
  fl::secagg::Identity id = fl::secagg::Identity::Generate(name);
  fl::secagg::Roster roster;
  const std::string roster_path = args.Get("roster");
  if (!roster_path.empty() && fl::FileExists(roster_path)) {
    auto loaded = fl::secagg::Roster::Load(roster_path);
    if (!loaded.ok()) return Fail(2, loaded.status().message());
    roster = std::move(loaded).value();
  }
  if (!roster_path.empty()) {
    if (auto s = roster.Add(name, id.keys.public_key); !s.ok()) return Fail(2, roster_path + ": " + s.message());
  }
  if (auto s = id.Save(args.Get("out")); !s.ok()) return Fail(1, s.message());
  if (!roster_path.empty()) {
    if (auto s = fl::AtomicWriteFile(roster_path, roster.ToJson().dump(2) + "\n"); !s.ok()) return Fail(1, s.message());
  }
  std::printf("%s\n", nlohmann::json({{"name", name},
                                      {"public_key", fl::crypto::ToHex(id.keys.public_key.data(), 32)}})
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  int first = 1;
  std::string command;
  if (argc > 1) {
    const std::string a = argv[1];
    if (a == "local" || a == "keygen" || a == "evaluate" || a == "predict") {
      command = a;
      first = 2;
    }
  }
  const bool local = command == "local", keygen = command == "keygen";
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
  if (keygen) return RunKeygen(*args);
  if (!args->Has("config")) return Fail(2, "--config FILE is required (see --help)");
  const std::string path = args->Get("config");
  auto json = fl::ParseJsonFile(path);
  if (!json.ok()) return Fail(2, "config error: " + json.status().message());
  auto options = fl::worker::ParseWorkerOptions(*json, path);
  if (!options.ok()) return Fail(2, "config error: " + options.status().message());
  if (args->Has("coordinator")) options->coordinator = args->Get("coordinator");
  fl::SetLogComponent("worker:" + options->name);
  if (local) return RunLocal(*options, *args);
  if (command == "evaluate" || command == "predict") {
    if (!args->Has("model")) return Fail(2, command + " needs --model CHECKPOINT");
    if (command == "evaluate") {
      std::vector<double> radii;
      if (args->Has("robust-eps")) {
        std::stringstream list(args->Get("robust-eps"));
        std::string item;
        while (std::getline(list, item, ',')) {
          char* end = nullptr;
          const double e = std::strtod(item.c_str(), &end);
          if (item.empty() || *end != '\0' || !(e >= 0 && e <= 10)) {
            return Fail(2, "--robust-eps takes comma-separated radii in [0, 10], e.g. 0.0078,0.0157");
          }
          radii.push_back(e);
        }
      }
      auto metrics = fl::worker::EvaluateCheckpoint(*options, args->Get("model"), radii);
      if (!metrics.ok()) return Fail(metrics.status().code() == fl::StatusCode::kInternal ? 1 : 2, metrics.status().message());
      std::cout << metrics->dump() << std::endl;
      return 0;
    }
    if (!args->Has("input") || !args->Has("out")) return Fail(2, "predict needs --input PATH and --out DIR");
    auto summary = fl::worker::Predict(*options, args->Get("model"), args->Get("input"), args->Get("out"));
    if (!summary.ok()) return Fail(summary.status().code() == fl::StatusCode::kInternal ? 1 : 2, summary.status().message());
    std::cout << summary->dump() << std::endl;
    return 0;
  }
  if (args->Has("plan") || args->Has("rounds")) return Fail(2, "--plan and --rounds belong to local mode");

  if (options->identity_key.empty() || options->roster.empty()) {
    return Fail(2, "config error: " + path + ": identity_key and roster are required to join a federation "
                   "(make them with fl-worker keygen)");
  }
  if (!fl::crypto::Init().ok()) return Fail(1, "libsodium initialisation failed");
  auto identity = fl::secagg::Identity::Load(options->identity_key);
  if (!identity.ok()) return Fail(2, identity.status().message());
  auto roster = fl::secagg::Roster::Load(options->roster);
  if (!roster.ok()) return Fail(2, roster.status().message());
  const fl::crypto::PublicKey* listed = roster->Find(identity->name);
  if (!listed || *listed != identity->keys.public_key) {
    return Fail(2, "the identity key of " + identity->name + " is not the one listed in " + options->roster);
  }
  if (identity->name != options->name) {
    return Fail(2, "config name " + options->name + " differs from the identity key's name " + identity->name);
  }
  auto data = fl::worker::LoadData(options->data);
  if (!data.ok()) return Fail(2, data.status().message());
  fl::worker::WorkerClient client(std::move(options).value(), std::move(data).value(), std::move(identity).value(),
                                  std::move(roster).value(), args->Get("audit-plaintext-dir"));
  if (args->Has("crash-before")) {
    const std::string spec = args->Get("crash-before");
    const auto colon = spec.find(':');
    int index = 0;
    try {
      index = colon == std::string::npos ? 0 : std::stoi(spec.substr(colon + 1));
    } catch (...) {
    }
    if (index < 1) return Fail(2, "--crash-before needs STEP:N, e.g. masked_input:2");
    client.CrashBefore(spec.substr(0, colon), index);
  }
  return client.Run();
}
