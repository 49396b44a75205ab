// Fuzz target: a worker's secure-aggregation state machine (SecAggClient, worker 1 of four)
// fed whatever a coordinator might send. The input is one byte of flags (bit 0: the input
// vector is set before the first message), then records of one operation byte each:
//   op % 4 != 3: Handle(SecAggServerMessage = chunk)
//   op % 4 == 3: SetInput(byte % 16 words)
// The client's round keys come from a fixed random stream (secagg_fixture.h), so the
// messages of an honest round that make_seeds.cc records stay valid for it.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_input.h"
#include "secagg_fixture.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fl;
  fuzz::InitDeterministicCrypto();
  const fuzz::SecAggFixture& f = fuzz::Fixture();
  fuzz::ResetRandom(fuzz::kClientSeed);
  secagg::SecAggClient client(fuzz::ClientConfigFor(f, 1));
  StatusOr<wire::SecAggClientMessage> advertise = client.Start();
  FUZZ_CHECK(advertise.ok());
  fuzz::Input in(data, size);
  size_t input_words = 0;
  if (in.U8() & 1) {
    client.SetInput(fuzz::InputOf(1));
    input_words = fuzz::kVectorLength;
  }
  for (int records = 0; !in.empty() && records < 64; ++records) {
    const uint8_t op = in.U8();
    if (op % 4 == 3) {
      input_words = in.U8() % 16;
      client.SetInput(RingVector(input_words));
      continue;
    }
    wire::SecAggServerMessage m;
    if (!m.ParseFromString(in.Chunk())) continue;
    const bool was_aborted = client.aborted();
    StatusOr<secagg::ClientOutput> out = client.Handle(m);
    if (was_aborted) FUZZ_CHECK(!out.ok());
    if (!out.ok()) {
      FUZZ_CHECK(client.aborted() && !client.done());
      if (!was_aborted) FUZZ_CHECK(!client.has_input());  // an abort wipes the input
      continue;
    }
    if (out->masked_input) FUZZ_CHECK(out->masked_input->size() == input_words && out->message.has_value());
    if (client.done()) FUZZ_CHECK(!client.has_input());
  }
  (void)client.state_name();
  return 0;
}
