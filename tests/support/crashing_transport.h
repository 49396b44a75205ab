// Test support: a transport decorator that makes a worker "die" just before it would send
// a given secure-aggregation step (advertise, share, masked_input, signature, unmask) in
// the N-th round it joins. What dying means is the caller's: the test tool fl-worker-faulty
// exits the process abruptly; an in-process test makes the link go silent.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "fl/transport.h"

namespace fl::testing {

class CrashingTransport : public Transport {
 public:
  // `on_crash` runs once, at the moment of the crash; afterwards every send is dropped and
  // nothing is received.
  CrashingTransport(std::unique_ptr<Transport> inner, std::string step, int round_index,
                    std::function<void(const std::string& step, uint32_t round)> on_crash);

  Status SendFrames(const PeerId& peer, std::vector<Frame> frames) override;
  std::optional<TransportEvent> Receive(std::chrono::milliseconds timeout) override;
  std::string endpoint() const override { return inner_->endpoint(); }
  Status SetMaxMessageBytes(int64_t bytes) override { return inner_->SetMaxMessageBytes(bytes); }
  bool crashed() const { return crashed_; }

 private:
  std::unique_ptr<Transport> inner_;
  std::string step_;
  int round_index_;
  std::function<void(const std::string&, uint32_t)> on_crash_;
  int rounds_joined_ = 0;
  std::atomic<bool> crashed_{false};
};

// Parses "STEP:N" (e.g. "masked_input:2"); false if malformed.
bool ParseCrashSpec(const std::string& spec, std::string* step, int* round_index);

}  // namespace fl::testing
