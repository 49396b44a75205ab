// fl-worker's command line: join a federation, train locally, evaluate, predict, keygen.
// WorkerMain is the whole program; main.cc calls it. Its seams are the transport wrapper,
// through which a test tool can put a fault-injecting decorator around the real transport,
// and the vote's noise source, without a test hook in the product.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "eval_metrics.h"
#include "fl/crypto.h"
#include "fl/exit_codes.h"
#include "fl/env.h"
#include "fl/secagg/identity.h"
#include "fl/cli.h"
#include "fl/config_reader.h"
#include "fl/log.h"
#include "fl/endpoint.h"
#include "fl/names.h"
#include "fl/transport_key.h"
#include "fl/zmq_transport.h"
#include "finetune.h"
#include "local_passes.h"
#include "teachers.h"
#include "student.h"
#include "offline.h"
#include "plan_files.h"
#include "options.h"
#include "data_summary.h"
#include "hospital_data.h"
#include "worker_client.h"
#include "worker_main.h"

namespace {

const std::vector<fl::FlagSpec> kFlags = fl::WithCommonFlags({
    {"config", true, "worker JSON config (see configs/worker-*.json)"},
    {"coordinator", true, "override the config's coordinator endpoint"},
    {"audit-plaintext-dir", true,
     "AUDIT ONLY: write this worker's unmasked quantised update of every round here (docs/audit.md)"},
    {"plan", true, "local, finetune, teachers, student: a coordinator config whose \"plan\" to train"},
    {"rounds", true, "local, finetune, teachers, student: number of rounds (each = the plan's local epochs or steps)"},
    {"output-model", true, "local, finetune, student: write the trained model here (safetensors, with its plan)"},
    {"labels", true, "student: the labels file of fl-worker ask (default state_dir/student/labels.json)"},
    {"base", true, "finetune: the common pretrained model the data vector is taken against"},
    {"teachers", true, "teachers: how many teacher models, each on its own shard of the training split"},
    {"model", true, "evaluate, predict: a checkpoint (the coordinator's model-vNNNNNN.safetensors)"},
    {"robust-eps", true, "evaluate: also robust accuracy / Dice under PGD-20 at these radii (e.g. 0.0078,0.0157)"},
    {"input", true, "predict: an image, a volume, or a folder of them (npz/csv: a data file)"},
    {"name", true, "keygen: the hospital's name"},
    {"out", true, "keygen: where to write the identity key (mode 600); predict: output folder"},
    {"roster", true, "keygen: add the public key to this roster file (created if missing)"},
    {"once", false, "end when the session ends (for scripts) instead of rejoining the federation"},
    {"personal", true, "evaluate, predict: a hospital's personal-model.safetensors completing a global model of shared tensors"},
    {"probabilities", false, "predict: also each pixel's class probabilities (probabilities.npz) for a segmentation model"},
    {"ids", false, "data: also list where each sample comes from (FILE:LINE, FILE:ARRAY[I])"},
});

void Usage(FILE* out) {
  std::fprintf(out,
               "Usage: fl-worker --config FILE [options]           join a federation\n"
               "       fl-worker local --config FILE --plan COORDINATOR.json --rounds N\n"
               "                                                   train on this hospital's data alone\n"
               "       fl-worker evaluate --config FILE --model CKPT  test metrics of a saved model (JSON)\n"
               "       fl-worker predict --config FILE --model CKPT --input PATH --out DIR [--probabilities]\n"
               "                                                   masks (PNG/NIfTI) or class probabilities (CSV)\n"
               "       fl-worker data --config FILE [--ids]          this hospital's splits: samples, classes (JSON)\n"
               "       fl-worker finetune --config FILE --base MODEL [--plan COORDINATOR.json] [--rounds N]\n"
               "                                                   fine-tune a common model here; keep the data vector\n"
               "       fl-worker contribute --config FILE          offer that data vector to a merge federation\n"
               "       fl-worker teachers --config FILE --plan COORDINATOR.json --teachers M [--rounds N]\n"
               "                                                   train M PATE teachers on disjoint shards here\n"
               "       fl-worker vote --config FILE                let those teachers vote in a private vote\n"
               "       fl-worker ask --config FILE                 a student: ask a private vote to label this\n"
               "                                                   hospital's training split (its labels unread)\n"
               "       fl-worker student --config FILE --plan COORDINATOR.json [--rounds N] [--labels FILE]\n"
               "                                                   train the student on the labels released\n"
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

// An offline command's JSON summary on stdout (exit 0), or its error: exit 1 for an
// internal failure, 2 for a bad request, config or data.
int Report(const fl::StatusOr<nlohmann::json>& summary) {
  if (!summary.ok()) {
    return Fail(summary.status().code() == fl::StatusCode::kInternal ? fl::kExitRuntimeError : fl::kExitConfigError,
                summary.status().message());
  }
  std::cout << summary->dump() << std::endl;
  return fl::kExitOk;
}

// An integer flag, `fallback` when absent; 0 when it is not an integer (the commands refuse 0).
int64_t CountFlag(const fl::ParsedArgs& args, const char* flag, int64_t fallback) {
  if (!args.Has(flag)) return fallback;
  const std::string text = args.Get(flag);
  char* end = nullptr;
  const long long n = std::strtoll(text.c_str(), &end, 10);
  return text.empty() || *end != '\0' ? 0 : n;
}

// Trains the plan on this hospital's data only and prints the test metrics as JSON.
int RunLocal(const fl::worker::WorkerOptions& options, const fl::ParsedArgs& args) {
  if (!args.Has("plan") || !args.Has("rounds")) return Fail(fl::kExitConfigError, "local mode needs --plan and --rounds");
  const int64_t rounds = CountFlag(args, "rounds", 0);
  if (rounds < 1 || rounds > 100000) return Fail(fl::kExitConfigError, "--rounds must be an integer in [1, 100000]");
  auto plan = fl::worker::CoordinatorConfigPlan(args.Get("plan"), "plan");
  if (!plan.ok()) return Fail(fl::kExitConfigError, "config error: " + plan.status().message());
  auto data = fl::worker::LoadHospitalData(options);
  if (!data.ok()) return Fail(fl::kExitConfigError, data.status().message());
  auto trainer = fl::worker::Trainer::Create(*plan, std::move(data).value(), options.device,
                                             fl::worker::TrainingSeed(options, plan->training.seed));
  if (!trainer.ok()) return Fail(fl::kExitRuntimeError, trainer.status().message());
  auto last_loss = fl::worker::TrainPasses(**trainer, rounds, "local round");
  if (!last_loss.ok()) return Fail(fl::kExitRuntimeError, last_loss.status().message());
  auto eval = (*trainer)->Evaluate();
  if (!eval.ok()) return Fail(fl::kExitRuntimeError, eval.status().message());
  if (args.Has("output-model")) {
    fl::Checkpoint c{(*trainer)->Layout(), (*trainer)->Parameters(), fl::ModelMetadata(*plan)};
    if (auto s = fl::WriteSafetensors(fl::Env::Default(), args.Get("output-model"), c); !s.ok()) return Fail(fl::kExitRuntimeError, s.message());
  }
  nlohmann::json out = fl::worker::TestMetricsJson(*eval);
  out["name"] = options.name;
  out["mode"] = "local";
  out["rounds"] = rounds;
  out["train_loss"] = *last_loss;
  std::cout << out.dump() << std::endl;
  return fl::kExitOk;
}

// Makes an Ed25519 identity key and adds its public half to a roster file.
int RunKeygen(const fl::ParsedArgs& args) {
  if (!args.Has("name") || !args.Has("out")) return Fail(fl::kExitConfigError, "keygen needs --name and --out");
  const std::string name = args.Get("name");
  if (auto s = fl::CheckName(name, "--name"); !s.ok()) return Fail(fl::kExitConfigError, s.message());
  if (fl::Env::Default().FileExists(args.Get("out"))) return Fail(fl::kExitConfigError, args.Get("out") + " exists; refusing to overwrite a key");
  if (!fl::crypto::Init().ok()) return Fail(fl::kExitRuntimeError, "libsodium initialisation failed");
  fl::secagg::Identity id = fl::secagg::Identity::Generate(name);
  fl::secagg::Roster roster;
  const std::string roster_path = args.Get("roster");
  if (!roster_path.empty() && fl::Env::Default().FileExists(roster_path)) {
    auto loaded = fl::secagg::Roster::Load(roster_path);
    if (!loaded.ok()) return Fail(fl::kExitConfigError, loaded.status().message());
    roster = std::move(loaded).value();
  }
  if (!roster_path.empty()) {
    if (auto s = roster.Add(name, id.keys.public_key); !s.ok()) return Fail(fl::kExitConfigError, roster_path + ": " + s.message());
  }
  if (auto s = id.Save(args.Get("out")); !s.ok()) return Fail(fl::kExitRuntimeError, s.message());
  if (!roster_path.empty()) {
    if (auto s = fl::Env::Default().WriteFile(roster_path, roster.ToJson().dump(2) + "\n"); !s.ok()) return Fail(fl::kExitRuntimeError, s.message());
  }
  std::printf("%s\n", nlohmann::json({{"name", name},
                                      {"public_key", fl::crypto::ToHex(id.keys.public_key.data(), 32)}})
                          .dump()
                          .c_str());
  return fl::kExitOk;
}

fl::worker::WorkerClient* volatile g_client = nullptr;

extern "C" void RequestStop(int) {
  if (g_client) g_client->RequestStop();  // sets an atomic flag: signal-safe
}

}  // namespace

namespace fl::worker {

int WorkerMain(int argc, char** argv, const TransportWrapper& wrap, VoteNoiseSource* vote_noise) {
  std::signal(SIGPIPE, SIG_IGN);
  int first = 1;
  std::string command;
  if (argc > 1) {
    const std::string a = argv[1];
    if (a == "local" || a == "keygen" || a == "evaluate" || a == "predict" || a == "data" || a == "finetune" ||
        a == "contribute" || a == "teachers" || a == "vote" || a == "ask" || a == "student") {
      command = a;
      first = 2;
    }
  }
  const bool local = command == "local", keygen = command == "keygen";
  auto args = fl::ParseArgs(argc, argv, first, kFlags);
  if (!args.ok()) return Fail(fl::kExitConfigError, args.status().message());
  if (args->Has("help")) {
    Usage(stdout);
    return fl::kExitOk;
  }
  if (!args->positional.empty()) return Fail(fl::kExitConfigError, "unexpected argument '" + args->positional[0] + "' (see --help)");
  if (auto done = fl::ApplyCommonFlags(*args, "fl-worker")) return *done;
  if (keygen) return RunKeygen(*args);
  if (!args->Has("config")) return Fail(fl::kExitConfigError, "--config FILE is required (see --help)");
  const std::string path = args->Get("config");
  auto json = fl::ParseJsonFile(path);
  if (!json.ok()) return Fail(fl::kExitConfigError, "config error: " + json.status().message());
  auto options = fl::worker::ParseWorkerOptions(*json, path);
  if (!options.ok()) return Fail(fl::kExitConfigError, "config error: " + options.status().message());
  if (args->Has("coordinator")) options->coordinator = args->Get("coordinator");
  options->once = args->Has("once");
  if (auto s = fl::CheckEndpoint(options->coordinator, /*for_binding=*/false); !s.ok()) {
    return Fail(fl::kExitConfigError, "--coordinator: " + s.message());
  }
  if (options->insecure && !fl::IsLoopbackEndpoint(options->coordinator)) {
    return Fail(fl::kExitConfigError, "plain TCP (insecure) is refused to " + options->coordinator);
  }
  fl::SetLogComponent("worker:" + options->name);
  if (local) return RunLocal(*options, *args);
  if (command == "finetune") {
    if (!args->Has("base")) return Fail(fl::kExitConfigError, "finetune needs --base MODEL.safetensors");
    fl::worker::FineTuneRequest r{args->Get("base"), args->Get("plan", ""), CountFlag(*args, "rounds", 1),
                                  args->Get("output-model", "")};
    return Report(fl::worker::FineTune(*options, r));
  }
  if (command == "teachers") {
    const fl::worker::TeacherRequest r{args->Get("plan", ""), CountFlag(*args, "teachers", 0),
                                       CountFlag(*args, "rounds", 1)};
    if (r.plan_path.empty()) return Fail(fl::kExitConfigError, "teachers needs --plan COORDINATOR.json");
    return Report(fl::worker::TrainTeachers(*options, r));
  }
  if (command == "student") {
    const fl::worker::StudentRequest r{args->Get("plan", ""), CountFlag(*args, "rounds", 1), args->Get("labels", ""),
                                       args->Get("output-model", "")};
    if (r.plan_path.empty()) return Fail(fl::kExitConfigError, "student needs --plan COORDINATOR.json");
    return Report(fl::worker::TrainStudent(*options, r));
  }
  if (command == "data") {
    auto split = fl::worker::LoadData(options->data);
    if (!split.ok()) return Fail(fl::kExitConfigError, split.status().message());
    std::cout << fl::worker::DescribeSplit(*split, args->Has("ids")).dump() << std::endl;
    return fl::kExitOk;
  }
  if (command == "evaluate" || command == "predict") {
    if (!args->Has("model")) return Fail(fl::kExitConfigError, command + " needs --model CHECKPOINT");
    if (command == "evaluate") {
      std::vector<double> radii;
      if (args->Has("robust-eps")) {
        std::stringstream list(args->Get("robust-eps"));
        std::string item;
        while (std::getline(list, item, ',')) {
          char* end = nullptr;
          const double e = std::strtod(item.c_str(), &end);
          if (item.empty() || *end != '\0' || !(e >= 0 && e <= 10)) {
            return Fail(fl::kExitConfigError, "--robust-eps takes comma-separated radii in [0, 10], e.g. 0.0078,0.0157");
          }
          radii.push_back(e);
        }
      }
      return Report(fl::worker::EvaluateCheckpoint(*options, args->Get("model"), radii, 20, args->Get("personal", "")));
    }
    if (!args->Has("input") || !args->Has("out")) return Fail(fl::kExitConfigError, "predict needs --input PATH and --out DIR");
    return Report(fl::worker::Predict(*options, args->Get("model"), args->Get("input"), args->Get("out"),
                                      args->Has("probabilities"), args->Get("personal", "")));
  }
  if (args->Has("plan") || args->Has("rounds")) return Fail(fl::kExitConfigError, "--plan and --rounds belong to local mode");
  options->contribute = command == "contribute";
  if (command == "vote") options->vote_role = fl::worker::WorkerOptions::VoteRole::kTeachers;
  if (command == "ask") options->vote_role = fl::worker::WorkerOptions::VoteRole::kStudent;
  if (command == "ask" && options->state_dir.empty()) {
    return Fail(fl::kExitConfigError, "ask keeps the released labels in the config's state_dir; set one");
  }

  if (options->identity_key.empty() || options->roster.empty()) {
    return Fail(fl::kExitConfigError, "config error: " + path + ": identity_key and roster are required to join a federation "
                   "(make them with fl-worker keygen)");
  }
  if (!fl::crypto::Init().ok()) return Fail(fl::kExitRuntimeError, "libsodium initialisation failed");
  auto identity = fl::secagg::Identity::Load(options->identity_key);
  if (!identity.ok()) return Fail(fl::kExitConfigError, identity.status().message());
  auto roster = fl::secagg::Roster::Load(options->roster);
  if (!roster.ok()) return Fail(fl::kExitConfigError, roster.status().message());
  const fl::crypto::PublicKey* listed = roster->Find(identity->name);
  if (!listed || *listed != identity->keys.public_key) {
    return Fail(fl::kExitConfigError, "the identity key of " + identity->name + " is not the one listed in " + options->roster);
  }
  if (identity->name != options->name) {
    return Fail(fl::kExitConfigError, "config name " + options->name + " differs from the identity key's name " + identity->name);
  }
  auto data = fl::worker::LoadHospitalData(*options);
  if (!data.ok()) return Fail(fl::kExitConfigError, data.status().message());
  fl::TransportOptions transport_options;
  if (!options->insecure) {
    if (options->coordinator_public_key.empty()) {
      return Fail(fl::kExitConfigError, "config error: " + path + ": coordinator_public_key is required (the "
                                        "public_key fl-coordinator keygen printed), or insecure: true on loopback");
    }
    auto pinned = fl::ParsePublicKeyHex(options->coordinator_public_key, path + ": coordinator_public_key");
    if (!pinned.ok()) return Fail(fl::kExitConfigError, "config error: " + pinned.status().message());
    auto own = fl::crypto::X25519FromSigningKey(identity->keys);
    if (!own.ok()) return Fail(fl::kExitConfigError, options->identity_key + ": " + own.status().message());
    transport_options.security.curve = true;
    transport_options.security.own = std::move(own).value();
    transport_options.security.server_public = *pinned;
  }
  auto connected = fl::ConnectZmq(options->coordinator, transport_options);
  if (!connected.ok()) return Fail(fl::kExitRuntimeError, connected.status().message());
  std::unique_ptr<fl::Transport> transport = std::move(connected).value();
  if (wrap) transport = wrap(std::move(transport));
  const std::string audit_dir = args->Get("audit-plaintext-dir");
  fl::worker::TrainerFactory factory = fl::worker::LibTorchTrainerFactory(*options);
  fl::worker::DiscreteGaussianVoteNoise product_noise;
  fl::worker::WorkerClient client(std::move(options).value(), std::move(data).value(), std::move(identity).value(),
                                  std::move(roster).value(), *transport, fl::Env::Default(), std::move(factory),
                                  audit_dir, vote_noise ? vote_noise : &product_noise);
  // SIGTERM or Ctrl-C: the round in progress is abandoned and the coordinator told.
  g_client = &client;
  std::signal(SIGTERM, RequestStop);
  std::signal(SIGINT, RequestStop);
  const int code = client.Run();
  g_client = nullptr;
  return code;
}

}  // namespace fl::worker
