#include "secagg_fixture.h"

#include <google/protobuf/stubs/logging.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "fl/crypto.h"

namespace fl::fuzz {
namespace {

uint64_t g_state = 0;

uint64_t Next() {  // SplitMix64
  uint64_t z = (g_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

const char* Name() { return "fl-fuzz-deterministic"; }
uint32_t Random() { return static_cast<uint32_t>(Next()); }
void Buf(void* const out, const size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<unsigned char>(Next() >> 24);
}

randombytes_implementation g_impl = {Name, Random, nullptr, nullptr, Buf, nullptr};

void NoLog(google::protobuf::LogLevel, const char*, int, const std::string&) {}

}  // namespace

void InitDeterministicCrypto() {
  static const bool done = [] {
    google::protobuf::SetLogHandler(NoLog);
    randombytes_set_implementation(&g_impl);
    if (!crypto::Init().ok()) {
      std::fprintf(stderr, "fuzz harness: libsodium failed to initialise\n");
      std::abort();
    }
    return true;
  }();
  (void)done;
}

void ResetRandom(uint64_t seed) { g_state = seed; }

const SecAggFixture& Fixture() {
  static const SecAggFixture f = [] {
    InitDeterministicCrypto();
    ResetRandom(7);
    SecAggFixture x;
    x.round.session = std::string(16, 's');
    x.round.round = 3;
    for (uint32_t i = 1; i <= kWorkers; ++i) {
      x.ids.push_back(secagg::Identity::Generate("h" + std::to_string(i)));
      if (!x.roster.Add(x.ids.back().name, x.ids.back().keys.public_key).ok()) std::abort();
    }
    return x;
  }();
  return f;
}

secagg::ServerConfig ServerConfigFor(const SecAggFixture& f) {
  secagg::ServerConfig c;
  c.round = f.round;
  for (uint32_t i = 1; i <= kWorkers; ++i) c.cohort.push_back(i);
  c.vector_length = kVectorLength;
  c.roster = &f.roster;
  return c;
}

secagg::ClientConfig ClientConfigFor(const SecAggFixture& f, uint32_t worker_id) {
  secagg::ClientConfig c;
  c.round = f.round;
  c.worker_id = worker_id;
  c.identity = &f.ids[worker_id - 1];
  c.roster = &f.roster;
  return c;
}

RingVector InputOf(uint32_t worker_id) {
  RingVector v(kVectorLength);
  for (size_t j = 0; j < kVectorLength; ++j) v[j] = worker_id * 1000 + static_cast<uint32_t>(j);
  return v;
}

}  // namespace fl::fuzz
