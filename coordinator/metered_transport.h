// A transport decorator that counts the bytes of every message sent and received into the
// coordinator's metrics.
#pragma once

#include <memory>

#include "fl/transport.h"
#include "metrics.h"

namespace fl::coordinator {

class MeteredTransport : public Transport {
 public:
  MeteredTransport(Transport& inner, CoordinatorMetrics& metrics) : inner_(inner), metrics_(metrics) {}

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override {
    uint64_t n = 0;
    for (const Frame& f : frames) n += f.size();
    Status s = inner_.SendFrames(peer, std::move(frames));
    if (s.ok()) metrics_.BytesSent(n);
    return s;
  }
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override {
    std::optional<TransportEvent> ev = inner_.Receive(timeout);
    if (ev && ev->kind == TransportEvent::Kind::kMessage) {
      uint64_t n = ev->message.envelope.ByteSizeLong();
      for (const Frame& f : ev->message.payload) n += f.size();
      metrics_.BytesReceived(n);
    }
    return ev;
  }
  std::string endpoint() const override { return inner_.endpoint(); }
  Status SetMaxMessageBytes(int64_t bytes) override { return inner_.SetMaxMessageBytes(bytes); }

 private:
  Transport& inner_;
  CoordinatorMetrics& metrics_;
};

}  // namespace fl::coordinator
