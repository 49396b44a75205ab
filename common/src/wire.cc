#include "fl/wire.h"

#include <cmath>
#include <cstring>

namespace fl {

Message MakeMessage(wire::MessageType type, const std::string& session, uint32_t round,
                    uint32_t sender, const google::protobuf::MessageLite* body) {
  Message m;
  m.envelope.set_version(kProtocolVersion);
  m.envelope.set_session(session);
  m.envelope.set_round(round);
  m.envelope.set_type(type);
  m.envelope.set_sender(sender);
  if (body) m.envelope.set_body(body->SerializeAsString());
  return m;
}

StatusOr<wire::Envelope> ParseEnvelope(const void* data, size_t size) {
  if (size == 0) return InvalidArgument("empty envelope frame");
  if (size > kMaxEnvelopeBytes) {
    return InvalidArgument("envelope of " + std::to_string(size) + " bytes exceeds the limit of " +
                           std::to_string(kMaxEnvelopeBytes));
  }
  wire::Envelope e;
  if (!e.ParseFromArray(data, static_cast<int>(size))) return InvalidArgument("envelope does not parse");
  if (e.version() != kProtocolVersion) {
    return InvalidArgument("protocol version " + std::to_string(e.version()) + ", expected " +
                           std::to_string(kProtocolVersion));
  }
  if (!wire::MessageType_IsValid(e.type()) || e.type() == wire::MESSAGE_TYPE_UNSPECIFIED) {
    return InvalidArgument("unknown message type " + std::to_string(static_cast<int>(e.type())));
  }
  if (e.payload_frames() > kMaxPayloadFrames) {
    return InvalidArgument("too many payload frames: " + std::to_string(e.payload_frames()));
  }
  if (!e.session().empty() && e.session().size() != kSessionIdBytes) {
    return InvalidArgument("session id of " + std::to_string(e.session().size()) + " bytes");
  }
  return e;
}

std::vector<Frame> EncodeFrames(Message m) {
  m.envelope.set_payload_frames(static_cast<uint32_t>(m.payload.size()));
  std::vector<Frame> frames;
  frames.reserve(1 + m.payload.size());
  frames.emplace_back(m.envelope.SerializeAsString());
  for (Frame& f : m.payload) frames.push_back(std::move(f));
  return frames;
}

StatusOr<Message> DecodeFrames(std::vector<Frame> frames) {
  if (frames.empty()) return InvalidArgument("message without an envelope frame");
  if (frames.size() > 1 + kMaxPayloadFrames) {
    return InvalidArgument("message with " + std::to_string(frames.size()) + " frames");
  }
  FL_ASSIGN_OR_RETURN(wire::Envelope envelope, ParseEnvelope(frames[0].data(), frames[0].size()));
  const size_t payloads = frames.size() - 1;
  if (payloads != envelope.payload_frames()) {
    return InvalidArgument("envelope announces " + std::to_string(envelope.payload_frames()) +
                           " payload frames, got " + std::to_string(payloads));
  }
  Message m;
  m.envelope = std::move(envelope);
  for (size_t i = 1; i < frames.size(); ++i) m.payload.push_back(std::move(frames[i]));
  return m;
}

Status ExpectPayloadFrames(const Message& m, size_t n) {
  if (m.payload.size() != n) {
    return InvalidArgument(TypeName(m.type()) + " needs " + std::to_string(n) +
                           " payload frame(s), got " + std::to_string(m.payload.size()));
  }
  return Status::Ok();
}

Frame FloatFrame(const float* data, size_t n) { return Frame(data, n * sizeof(float)); }

Frame RingFrame(const RingVector& v) { return Frame(v.data(), v.size() * sizeof(uint32_t)); }

StatusOr<std::vector<float>> ReadFloatFrame(const Frame& frame, size_t expected, const char* what) {
  if (frame.size() != expected * sizeof(float)) {
    return InvalidArgument(std::string(what) + ": payload of " + std::to_string(frame.size()) +
                           " bytes, expected " + std::to_string(expected * sizeof(float)));
  }
  std::vector<float> out(expected);
  if (expected > 0) std::memcpy(out.data(), frame.data(), frame.size());  // never memcpy to null
  for (size_t i = 0; i < expected; ++i) {
    if (!std::isfinite(out[i])) return InvalidArgument(std::string(what) + ": non-finite value");
  }
  return out;
}

StatusOr<RingVector> ReadRingFrame(const Frame& frame, size_t expected, const char* what) {
  if (frame.size() != expected * sizeof(uint32_t)) {
    return InvalidArgument(std::string(what) + ": payload of " + std::to_string(frame.size()) +
                           " bytes, expected " + std::to_string(expected * sizeof(uint32_t)));
  }
  RingVector v(expected);
  if (expected > 0) std::memcpy(v.data(), frame.data(), frame.size());  // never memcpy to null
  return v;
}

Frame WordFrame(const std::vector<uint32_t>& words) { return Frame(words.data(), words.size() * sizeof(uint32_t)); }

StatusOr<std::vector<uint32_t>> ReadWordFrame(const Frame& frame, size_t expected, const char* what) {
  FL_ASSIGN_OR_RETURN(RingVector v, ReadRingFrame(frame, expected, what));
  return v.words();
}

std::string TypeName(wire::MessageType t) { return wire::MessageType_Name(t); }

}  // namespace fl
