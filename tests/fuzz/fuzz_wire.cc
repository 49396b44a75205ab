// Fuzz target: a message as it arrives from a peer. The input is cut into frames (a count
// byte, then length-prefixed frames, fuzz_input.h), checked by DecodeFrames, and the body is
// unpacked as every body type and run through the checks its receiver applies (plan JSON,
// model layout, round parameters, metrics, float and ring payloads).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "fl/config_reader.h"
#include "fl/fixed_point.h"
#include "fl/metrics_wire.h"
#include "fl/names.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "fl/wire.h"
#include "fuzz_input.h"
#include "secagg_fixture.h"

namespace {

using namespace fl;


void Payloads(const Message& m, uint64_t expected_words) {
  for (const Frame& f : m.payload) {
    (void)ReadFloatFrame(f, f.size() / sizeof(float), "payload");
    (void)ReadRingFrame(f, f.size() / sizeof(uint32_t), "payload");
    StatusOr<std::vector<float>> floats = ReadFloatFrame(f, expected_words, "payload");
    StatusOr<RingVector> ring = ReadRingFrame(f, expected_words, "payload");
    if (floats.ok()) FUZZ_CHECK(floats->size() == expected_words);
    if (ring.ok()) FUZZ_CHECK(ring->size() == expected_words);
  }
}

void Bodies(const Message& m) {
  (void)ExpectPayloadFrames(m, 0);
  (void)ExpectPayloadFrames(m, 1);
  (void)TypeName(m.type());
  Payloads(m, fuzz::kVectorLength);

  wire::Hello hello;
  if (UnpackBody(m, &hello).ok()) (void)CheckName(hello.name(), "hospital name");

  wire::Welcome welcome;
  if (UnpackBody(m, &welcome).ok()) {
    StatusOr<nlohmann::json> j = ParseJsonText(welcome.plan_json(), "WELCOME plan");
    if (j.ok()) {
      StatusOr<Plan> plan = ParsePlan(*j, "WELCOME plan");
      if (plan.ok()) {
        (void)PlanToJson(*plan).dump();
        (void)ModelMetadata(*plan);
        for (int64_t r : {0, 1, 7, 1000000}) (void)LearningRateAt(plan->training, r);
      }
    }
  }

  wire::RoundStart rs;
  if (UnpackBody(m, &rs).ok()) {
    FixedPointParams p;
    p.clip = rs.clip();
    p.max_total_weight = rs.max_total_weight();
    p.ring_bits = rs.ring_bits();
    p.max_cohort = rs.max_cohort();
    if (p.Validate().ok()) {
      (void)p.DecodeErrorBound(static_cast<uint32_t>(rs.cohort_size()), 1 + rs.max_total_weight() / 2);
      // The coordinator decodes an unmasked sum with these parameters; a worker encodes its
      // update (the global model's floats stand in for it).
      for (const Frame& f : m.payload) {
        StatusOr<RingVector> sum = ReadRingFrame(f, f.size() / sizeof(uint32_t), "sum");
        if (sum.ok() && sum->size() > 0) {
          StatusOr<DecodedAverage> avg = DecodeWeightedSum(*sum, p);
          if (avg.ok()) FUZZ_CHECK(avg->average.size() == sum->size() - 1);
        }
        StatusOr<std::vector<float>> x = ReadFloatFrame(f, f.size() / sizeof(float), "update");
        if (x.ok()) {
          RingVector out;
          if (EncodeWeighted(x->data(), x->size(), 1 + rs.model_version() % p.max_total_weight, p, &out).ok()) {
            FUZZ_CHECK(out.size() == x->size() + 1);
          }
        }
      }
    }
  }

  wire::ModelLayout layout;
  if (UnpackBody(m, &layout).ok()) {
    // As the coordinator's INIT_MODEL handler does.
    Checkpoint c;
    for (const auto& t : layout.tensors()) {
      c.layout.tensors.push_back({t.name(), std::vector<uint64_t>(t.shape().begin(), t.shape().end())});
    }
    if (c.layout.Validate(100'000'000).ok() && m.payload.size() == 1) {
      StatusOr<std::vector<float>> values = ReadFloatFrame(m.payload[0], c.layout.dimension(), "initial model");
      if (values.ok()) {
        c.values = std::move(values).value();
        FUZZ_CHECK(CheckFinite(c, "initial model").ok());
        StatusOr<Checkpoint> back = DecodeSafetensors(EncodeSafetensors(c), "round trip");
        FUZZ_CHECK(back.ok() && back->values.size() == c.values.size());
      }
    }
  }

  wire::Metrics metrics;
  if (UnpackBody(m, &metrics).ok()) {
    StatusOr<nlohmann::json> j = MetricsToJson(metrics);
    if (j.ok()) (void)j->dump();
  }
  wire::MaskedInput masked;
  if (UnpackBody(m, &masked).ok()) (void)MetricsToJson(masked.metrics());
  wire::Abort abort_body;
  (void)UnpackBody(m, &abort_body);
  wire::SecAggClientMessage client;
  if (UnpackBody(m, &client).ok() && client.has_masked_input()) (void)MetricsToJson(client.masked_input().metrics());
  wire::SecAggServerMessage server;
  (void)UnpackBody(m, &server);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::InitDeterministicCrypto();
  fuzz::ResetRandom(size);
  fuzz::Input in(data, size);
  const size_t count = in.U8() % 5;  // up to one frame more than a message may have
  std::vector<Frame> frames;
  for (size_t i = 0; i < count; ++i) frames.emplace_back(i + 1 == count ? in.Rest() : in.Chunk());
  // The envelope check alone, as a transport applies it to the first frame.
  if (!frames.empty()) (void)ParseEnvelope(frames[0].data(), frames[0].size());
  StatusOr<Message> m = DecodeFrames(std::move(frames));
  if (!m.ok()) return 0;
  Bodies(*m);
  // What decoded must encode and decode to the same message.
  const std::string session = m->envelope.session(), body = m->envelope.body();
  const wire::MessageType type = m->type();
  const size_t payloads = m->payload.size();
  StatusOr<Message> again = DecodeFrames(EncodeFrames(std::move(*m)));
  FUZZ_CHECK(again.ok() && again->type() == type && again->envelope.session() == session &&
        again->envelope.body() == body && again->payload.size() == payloads);
  return 0;
}
