// Fuzz target: the coordinator's secure-aggregation state machine (SecAggServer) for a
// cohort of four workers, fed whatever the workers might send. The input is a sequence of
// records, one byte of operation each:
//   op % 4 == 0 or 1: Receive(worker = byte % 6 (ids 0 and 5 are outside the cohort),
//                     SecAggClientMessage = chunk, vector = chunk of uint32 words;
//                     op & 0x80 passes no vector at all)
//   op % 4 == 2:      Close(); a finished round's result is taken and checked
//   op % 4 == 3:      Drop(worker = byte % 6)
// make_seeds.cc writes an honest round in this form.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_input.h"
#include "secagg_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  fuzz::InitDeterministicCrypto();
  const fuzz::SecAggFixture& f = fuzz::Fixture();
  fuzz::ResetRandom(1);
  secagg::SecAggServer server(fuzz::ServerConfigFor(f));
  fuzz::Input in(data, size);
  bool taken = false;
  for (int records = 0; !in.empty() && records < 256; ++records) {
    const uint8_t op = in.U8();
    switch (op % 4) {
      case 0:
      case 1: {
        const uint32_t from = in.U8() % (fuzz::kWorkers + 2);
        wire::SecAggClientMessage m;
        const std::string body = in.Chunk();
        const std::string vec = in.Chunk();
        if (!m.ParseFromString(body)) break;
        std::vector<uint32_t> words(vec.size() / sizeof(uint32_t));
        if (!words.empty()) std::memcpy(words.data(), vec.data(), words.size() * sizeof(uint32_t));
        const bool was_aborted = server.aborted();
        Status s = (op & 0x80) ? server.Receive(from, m) : server.Receive(from, m, words.data(), words.size());
        if (was_aborted) FUZZ_CHECK(!s.ok());
        break;
      }
      case 2: {
        const bool was_done = server.done();
        StatusOr<std::vector<secagg::Outgoing>> out = server.Close();
        if (out.ok()) {
          for (const secagg::Outgoing& o : *out) FUZZ_CHECK(o.to >= 1 && o.to <= fuzz::kWorkers);
        } else {
          FUZZ_CHECK(!server.done() || was_done);
        }
        if (server.done() && !taken) {
          StatusOr<RingVector> sum = server.TakeResult();
          FUZZ_CHECK(sum.ok() && sum->size() == fuzz::kVectorLength);
          taken = true;
          FUZZ_CHECK(server.survivors().size() >= 3);
        }
        break;
      }
      case 3:
        server.Drop(in.U8() % (fuzz::kWorkers + 2));
        break;
    }
    (void)server.Pending();
    (void)server.ReadyToClose();
    (void)server.MemoryBytes();
    (void)server.phase_name();
  }
  // The result exists only for a finished round, and only once.
  StatusOr<RingVector> sum = server.TakeResult();
  FUZZ_CHECK(sum.ok() == (server.done() && !taken));
  return 0;
}
