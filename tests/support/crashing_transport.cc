#include "crashing_transport.h"

#include <thread>

namespace fl::testing {

CrashingTransport::CrashingTransport(std::unique_ptr<Transport> inner, std::string step, int round_index,
                                     std::function<void(const std::string&, uint32_t)> on_crash)
    : inner_(std::move(inner)), step_(std::move(step)), round_index_(round_index), on_crash_(std::move(on_crash)) {}

Status CrashingTransport::SendFrames(const PeerId& peer, std::vector<Frame> frames) {
  if (crashed_) return Status::Ok();
  if (!frames.empty()) {
    StatusOr<wire::Envelope> env = ParseEnvelope(frames[0].data(), frames[0].size());
    wire::SecAggClientMessage body;
    if (env.ok() && env->type() == wire::SECAGG_CLIENT && body.ParseFromString(env->body())) {
      const auto* field = wire::SecAggClientMessage::descriptor()->FindFieldByNumber(body.step_case());
      const std::string step = field ? field->name() : "";
      if (step == "advertise") ++rounds_joined_;  // every round a worker joins starts so
      if (step == step_ && rounds_joined_ == round_index_) {
        crashed_ = true;
        on_crash_(step, env->round());
        return Status::Ok();
      }
    }
  }
  return inner_->SendFrames(peer, std::move(frames));
}

std::optional<TransportEvent> CrashingTransport::Receive(std::chrono::milliseconds timeout) {
  if (crashed_) {
    std::this_thread::sleep_for(timeout);
    return std::nullopt;
  }
  return inner_->Receive(timeout);
}

bool ParseCrashSpec(const std::string& spec, std::string* step, int* round_index) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  try {
    *round_index = std::stoi(spec.substr(colon + 1));
  } catch (...) {
    return false;
  }
  *step = spec.substr(0, colon);
  return *round_index >= 1;
}

}  // namespace fl::testing
