// Message framing: a protobuf Envelope frame followed by raw payload frames. Every
// inbound frame is size-checked here before anything else looks at it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "fl.pb.h"
#include "fl/ring.h"
#include "fl/status.h"

namespace fl {

constexpr uint32_t kProtocolVersion = 1;
constexpr size_t kMaxEnvelopeBytes = 64 * 1024;  // envelopes carry small messages only
constexpr uint32_t kMaxPayloadFrames = 2;
constexpr size_t kSessionIdBytes = 16;

struct Message {
  wire::Envelope envelope;
  std::vector<zmq::message_t> payload;

  wire::MessageType type() const { return envelope.type(); }
  uint32_t round() const { return envelope.round(); }
};

// Builds a message with `body` serialized into the envelope.
Message MakeMessage(wire::MessageType type, const std::string& session, uint32_t round,
                    uint32_t sender, const google::protobuf::MessageLite* body = nullptr);

// Parses and checks an envelope frame (size, version, known type, payload count).
StatusOr<wire::Envelope> ParseEnvelope(const void* data, size_t size);

// Parses the typed body; fails with a message naming the type when it does not parse.
template <typename T>
Status UnpackBody(const Message& m, T* out) {
  if (!out->ParseFromString(m.envelope.body())) {
    return InvalidArgument("malformed body for " + wire::MessageType_Name(m.type()));
  }
  return Status::Ok();
}

// Checks the message's payload frame count.
Status ExpectPayloadFrames(const Message& m, size_t n);

zmq::message_t FloatFrame(const float* data, size_t n);
zmq::message_t RingFrame(const RingVector& v);

// Copies a raw frame that must hold exactly `expected` elements.
StatusOr<std::vector<float>> ReadFloatFrame(const zmq::message_t& frame, size_t expected,
                                            const char* what);
StatusOr<RingVector> ReadRingFrame(const zmq::message_t& frame, size_t expected, const char* what);

// Human-readable one-word name of a message type.
std::string TypeName(wire::MessageType t);

}  // namespace fl
