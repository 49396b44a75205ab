// fl-worker-faulty: fl-worker with a fault injected at its transport, for the integration
// tests and fl-launch --crash. The same program as fl-worker plus one flag:
//   --crash-before STEP:N   exit abruptly (as if killed) instead of sending STEP
//                           (advertise, share, masked_input, signature, unmask) in the
//                           N-th round joined.
// Built with the tests and never installed: the product has no such flag.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crashing_transport.h"
#include "fl/log.h"
#include "worker_main.h"

int main(int argc, char** argv) {
  std::vector<char*> args;
  std::string spec;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--crash-before" && i + 1 < argc) {
      spec = argv[++i];
    } else if (a.rfind("--crash-before=", 0) == 0) {
      spec = a.substr(15);
    } else {
      args.push_back(argv[i]);
    }
  }
  std::string step;
  int round_index = 0;
  if (!spec.empty() && !fl::testing::ParseCrashSpec(spec, &step, &round_index)) {
    std::fprintf(stderr, "fl-worker-faulty: --crash-before needs STEP:N, e.g. masked_input:2\n");
    return 2;
  }
  fl::worker::TransportWrapper wrap;
  if (!spec.empty()) {
    wrap = [step, round_index](std::unique_ptr<fl::Transport> inner) -> std::unique_ptr<fl::Transport> {
      return std::make_unique<fl::testing::CrashingTransport>(
          std::move(inner), step, round_index, [](const std::string& s, uint32_t round) {
            FL_LOG(kWarning) << "fault injection: exiting before sending " << s << " in round " << round;
            std::_Exit(137);
          });
    };
  }
  args.push_back(nullptr);
  return fl::worker::WorkerMain(static_cast<int>(args.size()) - 1, args.data(), wrap);
}
