// In-process simulation of a secure-aggregation round: n workers' state machines and the
// coordinator's, with direct calls instead of a network and a dropout schedule per
// phase. Tests and benchmarks use it; `fl-coordinator simulate` exposes it for sizing
// rounds.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "fl/ring.h"
#include "fl/secagg/params.h"
#include "fl/status.h"

namespace fl::secagg {

// Where a worker drops out: before sending the message of that phase.
enum class DropPoint {
  kNever,
  kBeforeAdvertise,    // never joins
  kBeforeShare,        // advertised keys only
  kBeforeMaskedInput,  // shared keys, sends no input (its mask secret is rebuilt)
  kAfterMaskedInput,   // input is in the sum; does not sign the survivor set
  kBeforeUnmask,       // signed, reveals no shares
};
const char* DropPointName(DropPoint p);

struct SimulationOptions {
  uint32_t n = 10;                 // workers, ids 1..n
  uint64_t vector_length = 1001;   // d + 1 words per input
  std::map<uint32_t, DropPoint> drops;
  SecurityParams security;
  uint32_t min_cohort = 3;
  uint32_t forced_k = 0;           // force a Harary degree (0 = choose)
  bool force_complete = false;
  int threads = 1;                 // threads running the workers' steps
  uint32_t round = 1;
};

struct SimulationResult {
  Status status;                   // OK, or why the round aborted
  RingVector sum;                  // sum of the survivors' inputs
  std::set<uint32_t> survivors;    // U3
  RoundParams params;
  double wall_seconds = 0;
  double server_cpu_seconds = 0;   // time spent inside the server's calls (wall; its
                                   // unmasking step uses `threads` threads)
  size_t server_peak_bytes = 0;    // most bytes the server held at a phase boundary
  uint64_t max_bytes_sent_per_worker = 0;  // serialized messages + vector bytes
  double mask_seconds = 0;         // summed CPU time of the workers' masking step
  double client_seconds[5] = {0, 0, 0, 0, 0};  // summed worker CPU time per step sent
  std::map<uint32_t, std::string> client_aborts;
};

// `make_input(id)` returns worker id's input (vector_length words); it is called once
// per worker, when that worker masks.
SimulationResult RunSimulation(const SimulationOptions& options,
                               const std::function<RingVector(uint32_t)>& make_input);

}  // namespace fl::secagg
