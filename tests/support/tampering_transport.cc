#include "tampering_transport.h"

#include <cstring>

namespace fl::testing {

Status TamperingTransport::SendFrames(const PeerId& peer, std::vector<Frame> frames) {
  if (frames.size() == 2) {
    StatusOr<wire::Envelope> env = ParseEnvelope(frames[0].data(), frames[0].size());
    wire::SecAggClientMessage body;
    if (env.ok() && env->type() == wire::SECAGG_CLIENT && body.ParseFromString(env->body()) &&
        body.step_case() == wire::SecAggClientMessage::kMaskedInput && frames[1].size() >= sizeof(uint32_t)) {
      uint32_t last = 0;
      char* at = static_cast<char*>(frames[1].data()) + frames[1].size() - sizeof(uint32_t);
      std::memcpy(&last, at, sizeof last);
      last += delta_;
      std::memcpy(at, &last, sizeof last);
    }
  }
  return inner_->SendFrames(peer, std::move(frames));
}

}  // namespace fl::testing
