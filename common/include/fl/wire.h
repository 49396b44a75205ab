// Message framing: a protobuf Envelope frame followed by raw payload frames. Every
// inbound list of frames is checked here (DecodeFrames) before anything else looks at it,
// whichever transport carried it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fl.pb.h"
#include "fl/frame.h"
#include "fl/ring.h"
#include "fl/status.h"

namespace fl {

constexpr uint32_t kProtocolVersion = 1;
constexpr size_t kMaxEnvelopeBytes = 64 * 1024;  // envelopes carry small messages only
constexpr uint32_t kMaxPayloadFrames = 2;
constexpr size_t kSessionIdBytes = 16;

struct Message {
  wire::Envelope envelope;
  std::vector<Frame> payload;

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

// The frames of `m` on the wire: the envelope (announcing the payload count), then the
// payload frames.
std::vector<Frame> EncodeFrames(Message m);
// Checks a received list of frames (count, envelope, announced payload count) and turns
// it into a message; the error says what was wrong.
StatusOr<Message> DecodeFrames(std::vector<Frame> frames);

// Checks the message's payload frame count.
Status ExpectPayloadFrames(const Message& m, size_t n);

Frame FloatFrame(const float* data, size_t n);
Frame RingFrame(const RingVector& v);
Frame WordFrame(const std::vector<uint32_t>& words);

// Copies a raw frame that must hold exactly `expected` elements.
StatusOr<std::vector<float>> ReadFloatFrame(const Frame& frame, size_t expected, const char* what);
StatusOr<RingVector> ReadRingFrame(const Frame& frame, size_t expected, const char* what);
StatusOr<std::vector<uint32_t>> ReadWordFrame(const Frame& frame, size_t expected, const char* what);

// Human-readable one-word name of a message type.
std::string TypeName(wire::MessageType t);

}  // namespace fl
