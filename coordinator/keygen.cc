// fl-coordinator keygen --out coordinator.key: the coordinator's long-term CURVE key pair.
// The file (mode 600) stays with the coordinator (a Kubernetes Secret); its public key,
// printed as JSON, goes into every worker config as coordinator_public_key.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "fl/cli.h"
#include "fl/crypto.h"
#include "fl/env.h"
#include "fl/exit_codes.h"
#include "fl/transport_key.h"

namespace fl::coordinator {
namespace {

const std::vector<FlagSpec> kKeygenFlags = {
    {"out", true, "where to write the key pair (JSON, mode 600); refused if it exists"},
    {"help", false, "show this help"},
};

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "fl-coordinator keygen: %s\n", message.c_str());
  return code;
}

}  // namespace

int KeygenMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, kKeygenFlags);
  if (!args.ok()) return Fail(kExitConfigError, args.status().message());
  if (args->Has("help")) {
    std::printf("Usage: fl-coordinator keygen --out coordinator.key\n\nMakes the coordinator's long-term "
                "transport (CURVE) key pair. Keep the file secret;\nput the printed public_key into every "
                "worker config (coordinator_public_key).\n\nOptions:\n%s",
                FormatFlags(kKeygenFlags).c_str());
    return kExitOk;
  }
  if (!args->positional.empty()) return Fail(kExitConfigError, "unexpected argument '" + args->positional[0] + "'");
  if (!args->Has("out")) return Fail(kExitConfigError, "--out FILE is required");
  const std::string out = args->Get("out");
  Env& env = Env::Default();
  if (env.FileExists(out)) return Fail(kExitConfigError, out + " exists; refusing to overwrite a key");
  if (!crypto::Init().ok()) return Fail(kExitRuntimeError, "libsodium initialisation failed");
  const crypto::X25519KeyPair key = crypto::GenerateX25519();
  if (Status s = SaveTransportKey(env, out, key); !s.ok()) return Fail(kExitRuntimeError, s.message());
  std::printf("%s\n", nlohmann::json({{"public_key", crypto::ToHex(key.public_key.data(), key.public_key.size())}})
                          .dump()
                          .c_str());
  return kExitOk;
}

}  // namespace fl::coordinator
