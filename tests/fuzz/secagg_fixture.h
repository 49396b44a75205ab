// A fixed secure-aggregation setting for the secagg fuzz targets and the seed writer
// (make_seeds.cc): four workers with identities from a fixed random stream, their roster,
// one round id, and libsodium's randomness replaced by a resettable deterministic stream so
// that a run is reproducible and messages recorded from an honest round (the seeds) still
// verify when they are replayed against the target.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/ring.h"
#include "fl/secagg/client.h"
#include "fl/secagg/identity.h"
#include "fl/secagg/server.h"

namespace fl::fuzz {

constexpr uint32_t kWorkers = 4;        // ids 1..4
constexpr size_t kVectorLength = 9;     // d + 1 words
constexpr uint64_t kClientSeed = 1001;  // the random stream of the fuzzed client's Start()

// Installs the deterministic random stream (once) and initialises libsodium. Also silences
// protobuf's log (it prints a line for every string field that is not UTF-8).
void InitDeterministicCrypto();
// Restarts the random stream at `seed`.
void ResetRandom(uint64_t seed);

struct SecAggFixture {
  secagg::RoundId round;
  std::vector<secagg::Identity> ids;  // ids[i] is worker i + 1
  secagg::Roster roster;
};
// Made once (after InitDeterministicCrypto), always the same.
const SecAggFixture& Fixture();

secagg::ServerConfig ServerConfigFor(const SecAggFixture& f);
secagg::ClientConfig ClientConfigFor(const SecAggFixture& f, uint32_t worker_id);
RingVector InputOf(uint32_t worker_id);

}  // namespace fl::fuzz
