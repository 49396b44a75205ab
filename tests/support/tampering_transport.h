// Test support: a transport decorator that makes a worker lie in its masked input: it adds
// `delta` to the input's last word (the weight word) before sending. The masks still cancel,
// so the coordinator's unmasked sum carries the lie; the test tool fl-worker-faulty uses it
// to check that a coordinator survives a hospital's out-of-range input.
#pragma once

#include <cstdint>
#include <memory>

#include "fl/transport.h"

namespace fl::testing {

class TamperingTransport : public Transport {
 public:
  TamperingTransport(std::unique_ptr<Transport> inner, uint32_t delta) : inner_(std::move(inner)), delta_(delta) {}

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override;
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override { return inner_->Receive(timeout); }
  std::string endpoint() const override { return inner_->endpoint(); }
  Status SetMaxMessageBytes(int64_t bytes) override { return inner_->SetMaxMessageBytes(bytes); }

 private:
  std::unique_ptr<Transport> inner_;
  uint32_t delta_;
};

}  // namespace fl::testing
