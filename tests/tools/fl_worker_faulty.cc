// fl-worker-faulty: fl-worker with a fault injected at its transport, for the integration
// tests and fl-launch --crash. The same program as fl-worker plus three flags:
//   --crash-before STEP:N   exit abruptly (as if killed) instead of sending STEP
//                           (advertise, share, masked_input, signature, unmask) in the
//                           N-th round joined.
//   --noiseless-votes       fl-worker vote sends its teachers' counts without noise, so
//                           that a test can check the vote's sums exactly.
//   --tamper-weight N       add N to the weight word of every masked input it sends (a
//                           hospital lying about its weight or its number of teachers).
// Built with the tests and never installed: the product has no such flags.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "crashing_transport.h"
#include "tampering_transport.h"
#include "fl/log.h"
#include "vote_noise.h"
#include "worker_main.h"

namespace {
// The counts as they are: the vote's arithmetic without its noise.
class NoNoise final : public fl::worker::VoteNoiseSource {
 public:
  fl::StatusOr<fl::RingVector> Noisy(const std::vector<int64_t>& counts, double) override {
    fl::RingVector out(counts.size());
    for (size_t i = 0; i < counts.size(); ++i) out[i] = static_cast<uint32_t>(counts[i]);
    return out;
  }
};
}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  std::string spec;
  bool noiseless = false;
  uint32_t tamper = 0;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--noiseless-votes") {
      noiseless = true;
    } else if (a == "--tamper-weight" && i + 1 < argc) {
      tamper = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--crash-before" && i + 1 < argc) {
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
  if (!spec.empty() || tamper != 0) {
    wrap = [step, round_index, tamper](std::unique_ptr<fl::Transport> inner) -> std::unique_ptr<fl::Transport> {
      if (tamper != 0) inner = std::make_unique<fl::testing::TamperingTransport>(std::move(inner), tamper);
      if (step.empty()) return inner;
      return std::make_unique<fl::testing::CrashingTransport>(
          std::move(inner), step, round_index, [](const std::string& s, uint32_t round) {
            FL_LOG(kWarning) << "fault injection: exiting before sending " << s << " in round " << round;
            std::_Exit(137);
          });
    };
  }
  args.push_back(nullptr);
  NoNoise no_noise;
  return fl::worker::WorkerMain(static_cast<int>(args.size()) - 1, args.data(), wrap, noiseless ? &no_noise : nullptr);
}
