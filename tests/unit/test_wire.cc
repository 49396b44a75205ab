// Tests for message framing (fl/wire.h); the transports are tested by
// test_transport_conformance.cc.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fl.pb.h"
#include "fl/ring.h"
#include "fl/wire.h"

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using fl::Message;
using fl::ParseEnvelope;
using fl::RingVector;
using fl::StatusCode;
namespace wire = fl::wire;

namespace {

const std::string kSession(16, '\x42');

wire::Envelope ValidEnvelope() {
  wire::Hello hello;
  hello.set_name("St. Elsewhere");
  hello.set_protocol_version(fl::kProtocolVersion);
  Message m = fl::MakeMessage(wire::HELLO, kSession, 3, 5, &hello);
  m.envelope.set_payload_frames(1);
  return m.envelope;
}

std::string Bytes(const wire::Envelope& e) { return e.SerializeAsString(); }

fl::Status ParseStatus(const std::string& b) { return ParseEnvelope(b.data(), b.size()).status(); }

// Anything ParseEnvelope accepts must satisfy the documented checks.
bool Invariants(const wire::Envelope& e) {
  return e.version() == fl::kProtocolVersion && wire::MessageType_IsValid(e.type()) &&
         e.type() != wire::MESSAGE_TYPE_UNSPECIFIED && e.payload_frames() <= fl::kMaxPayloadFrames &&
         (e.session().empty() || e.session().size() == fl::kSessionIdBytes);
}

}  // namespace

TEST_CASE("wire: ParseEnvelope accepts a valid envelope", "[wire]") {
  const std::string b = Bytes(ValidEnvelope());
  auto e = ParseEnvelope(b.data(), b.size());
  REQUIRE(e.ok());
  CHECK(e->type() == wire::HELLO);
  CHECK(e->round() == 3);
  CHECK(e->sender() == 5);
  CHECK(e->session() == kSession);
  CHECK(e->payload_frames() == 1);
  wire::Hello hello;
  REQUIRE(hello.ParseFromString(e->body()));
  CHECK(hello.name() == "St. Elsewhere");
  // An empty session (before WELCOME) is allowed.
  wire::Envelope noses = ValidEnvelope();
  noses.clear_session();
  CHECK(ParseStatus(Bytes(noses)).ok());
}

TEST_CASE("wire: ParseEnvelope rejects empty and truncated input", "[wire]") {
  CHECK(ParseEnvelope(nullptr, 0).status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(ParseEnvelope("", 0).status().message(), Contains("empty"));
  const std::string b = Bytes(ValidEnvelope());
  REQUIRE(b.size() > 30);
  size_t failed = 0, violations = 0;
  for (size_t n = 1; n < b.size(); ++n) {
    auto e = ParseEnvelope(b.data(), n);  // must not crash
    if (!e.ok()) ++failed;
    else if (!Invariants(*e)) ++violations;
  }
  CHECK(violations == 0);
  // Cuts inside the session or body bytes cannot parse.
  CHECK(failed > b.size() / 2);
  CHECK(ParseEnvelope(b.data(), b.size()).ok());
}

TEST_CASE("wire: ParseEnvelope enforces the size limit", "[wire]") {
  wire::Envelope e = ValidEnvelope();
  e.set_body(std::string(fl::kMaxEnvelopeBytes, 'x'));
  const std::string big = Bytes(e);
  REQUIRE(big.size() > fl::kMaxEnvelopeBytes);
  fl::Status s = ParseStatus(big);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Contains(std::to_string(fl::kMaxEnvelopeBytes)));
  CHECK_THAT(s.message(), Contains(std::to_string(big.size())));

  // Exactly at the limit is accepted.
  size_t body = fl::kMaxEnvelopeBytes - 100;
  std::string exact;
  for (int i = 0; i < 200; ++i) {
    e.set_body(std::string(body, 'x'));
    exact = Bytes(e);
    if (exact.size() == fl::kMaxEnvelopeBytes) break;
    body += exact.size() < fl::kMaxEnvelopeBytes ? 1 : -1;
  }
  REQUIRE(exact.size() == fl::kMaxEnvelopeBytes);
  CHECK(ParseStatus(exact).ok());
  e.set_body(std::string(body + 1, 'x'));
  CHECK_FALSE(ParseStatus(Bytes(e)).ok());
}

TEST_CASE("wire: ParseEnvelope rejects bad fields", "[wire]") {
  wire::Envelope e = ValidEnvelope();
  SECTION("version") {
    for (uint32_t v : {0u, 2u, 1000u}) {
      e.set_version(v);
      fl::Status s = ParseStatus(Bytes(e));
      CHECK(s.code() == StatusCode::kInvalidArgument);
      CHECK_THAT(s.message(), Contains("protocol version " + std::to_string(v)));
    }
  }
  SECTION("unspecified type") {
    e.set_type(wire::MESSAGE_TYPE_UNSPECIFIED);
    CHECK_THAT(ParseStatus(Bytes(e)).message(), Contains("unknown message type 0"));
  }
  SECTION("out-of-range type") {
    // version = 1 (field 1), type = 99 / 17 (field 4), written as raw protobuf.
    const std::string t99("\x08\x01\x20\x63", 4);
    CHECK_THAT(ParseStatus(t99).message(), Contains("unknown message type 99"));
    const std::string t17("\x08\x01\x20\x11", 4);
    CHECK_THAT(ParseStatus(t17).message(), Contains("unknown message type 17"));
    const std::string t16("\x08\x01\x20\x10", 4);  // LABELS: valid
    CHECK(ParseStatus(t16).ok());
    const std::string t12("\x08\x01\x20\x0c", 4);  // ABORT: valid
    CHECK(ParseStatus(t12).ok());
  }
  SECTION("payload frames") {
    e.set_payload_frames(fl::kMaxPayloadFrames);
    CHECK(ParseStatus(Bytes(e)).ok());
    e.set_payload_frames(fl::kMaxPayloadFrames + 1);
    CHECK_THAT(ParseStatus(Bytes(e)).message(), Contains("too many payload frames"));
    e.set_payload_frames(0xFFFFFFFFu);
    CHECK_FALSE(ParseStatus(Bytes(e)).ok());
  }
  SECTION("session length") {
    for (size_t n : {1u, 15u, 17u, 32u}) {
      e.set_session(std::string(n, 's'));
      fl::Status s = ParseStatus(Bytes(e));
      CHECK(s.code() == StatusCode::kInvalidArgument);
      CHECK_THAT(s.message(), Contains("session id of " + std::to_string(n) + " bytes"));
    }
  }
}

TEST_CASE("wire: ParseEnvelope survives random garbage", "[wire]") {
  std::mt19937 rng(1234);
  const std::string valid = Bytes(ValidEnvelope());
  size_t accepted = 0, violations = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b;
    if (i % 2 == 0) {
      b.resize(rng() % 300);
      for (auto& c : b) c = static_cast<char>(rng());
    } else {  // mutate a valid envelope: flip a few bytes
      b = valid;
      for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    }
    auto e = ParseEnvelope(b.data(), b.size());
    if (e.ok()) {
      ++accepted;
      if (!Invariants(*e)) ++violations;
    }
  }
  CHECK(violations == 0);
  CHECK(accepted < 20000);
}

TEST_CASE("wire: float and ring frames are size- and value-checked", "[wire]") {
  const std::vector<float> x = {1.5f, -2.f, 0.f, 3.25f};
  fl::Frame f = fl::FloatFrame(x.data(), x.size());
  REQUIRE(f.size() == 16);
  auto r = fl::ReadFloatFrame(f, 4, "update");
  REQUIRE(r.ok());
  CHECK(*r == x);
  fl::Status s = fl::ReadFloatFrame(f, 3, "update").status();
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK_THAT(s.message(), Contains("update: payload of 16 bytes, expected 12"));
  CHECK_FALSE(fl::ReadFloatFrame(f, 5, "update").ok());
  CHECK_FALSE(fl::ReadFloatFrame(fl::Frame(size_t{15}), 4, "update").ok());
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> y = x;
    y[3] = bad;
    auto rb = fl::ReadFloatFrame(fl::FloatFrame(y.data(), y.size()), 4, "model");
    CHECK_THAT(rb.status().message(), Contains("model: non-finite"));
  }
  CHECK(fl::ReadFloatFrame(fl::Frame(), 0, "empty").ok());

  RingVector v(std::vector<uint32_t>{1, 0xFFFFFFFFu, 7});
  fl::Frame rf = fl::RingFrame(v);
  REQUIRE(rf.size() == 12);
  auto rv = fl::ReadRingFrame(rf, 3, "masked");
  REQUIRE(rv.ok());
  CHECK(rv->words() == v.words());
  CHECK_THAT(fl::ReadRingFrame(rf, 4, "masked").status().message(),
             Contains("masked: payload of 12 bytes, expected 16"));
  CHECK_FALSE(fl::ReadRingFrame(fl::Frame(size_t{11}), 3, "masked").ok());
}

TEST_CASE("wire: ExpectPayloadFrames counts frames", "[wire]") {
  Message m = fl::MakeMessage(wire::INIT_MODEL, kSession, 0, 1);
  CHECK(fl::ExpectPayloadFrames(m, 0).ok());
  fl::Status s = fl::ExpectPayloadFrames(m, 1);
  CHECK_THAT(s.message(), Contains("INIT_MODEL needs 1 payload frame(s), got 0"));
  m.payload.emplace_back(8);
  CHECK(fl::ExpectPayloadFrames(m, 1).ok());
}

TEST_CASE("wire: EncodeFrames and DecodeFrames round-trip and reject malformed lists", "[wire]") {
  wire::Hello hello;
  hello.set_name("hospital-a");
  Message m = fl::MakeMessage(wire::HELLO, kSession, 4, 9, &hello);
  m.payload.push_back(fl::Frame(std::string("abc")));
  std::vector<fl::Frame> frames = fl::EncodeFrames(std::move(m));
  REQUIRE(frames.size() == 2);
  auto back = fl::DecodeFrames(frames);
  REQUIRE(back.ok());
  CHECK(back->type() == wire::HELLO);
  CHECK(back->round() == 4);
  CHECK(back->envelope.payload_frames() == 1);
  REQUIRE(back->payload.size() == 1);
  CHECK(back->payload[0].bytes() == "abc");

  CHECK_THAT(fl::DecodeFrames({}).status().message(), Contains("without an envelope"));
  CHECK_THAT(fl::DecodeFrames({frames[0]}).status().message(), Contains("announces 1 payload frames, got 0"));
  CHECK_THAT(fl::DecodeFrames({frames[0], frames[1], frames[1]}).status().message(),
             Contains("announces 1 payload frames, got 2"));
  CHECK_THAT(fl::DecodeFrames(std::vector<fl::Frame>(4, frames[0])).status().message(),
             Contains("message with 4 frames"));
  CHECK_THAT(fl::DecodeFrames({fl::Frame(std::string("garbage!"))}).status().message(), Contains("does not parse"));
}
