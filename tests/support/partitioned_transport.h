// Test support: a transport decorator that cuts the link (nothing sent, nothing received,
// as a pulled cable or a firewall would) while `cut()` says so. The test decides when:
// between two times, or by a flag it sets.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include "fl/transport.h"

namespace fl::testing {

class PartitionedTransport : public Transport {
 public:
  PartitionedTransport(std::unique_ptr<Transport> inner, std::function<bool()> cut)
      : inner_(std::move(inner)), cut_(std::move(cut)) {}

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    if (cut_()) return Status::Ok();  // lost on the way
    return inner_->SendFrames(peer, std::move(frames));
  }
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    auto ev = inner_->Receive(timeout);
    if (ev && cut_()) return std::nullopt;  // arrived while the link was cut: lost
    return ev;
  }
  std::string endpoint() const override { return inner_->endpoint(); }
  Status SetMaxMessageBytes(int64_t bytes) override { return inner_->SetMaxMessageBytes(bytes); }

 private:
  std::unique_ptr<Transport> inner_;
  std::function<bool()> cut_;
};

}  // namespace fl::testing
