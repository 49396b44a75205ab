// The coordinator's one loop: waits on the transport, turns each event into a call, and
// checks liveness between events. HELLO goes to the registry; every other message of an
// admitted worker goes to the handler registered for its type, after the session and
// sender are checked. A malformed or unexpected message drops its sender, who is told why.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <string>

#include "fl/env.h"
#include "fl/transport.h"
#include "metrics.h"
#include "rejection_log.h"
#include "worker_registry.h"

namespace fl::coordinator {

class EventLoop {
 public:
  using Handler = std::function<void(WorkerRecord&, const Message&)>;
  enum class Wait { kReady, kTimeout, kStopped };

  EventLoop(Transport& transport, Env& env, WorkerRegistry& registry, const std::string& session,
            CoordinatorMetrics& metrics);

  void On(wire::MessageType type, Handler handler) { handlers_[type] = std::move(handler); }
  // RunUntil returns kStopped once `*stop` is set (SIGTERM); `stop` must outlive the loop.
  void SetStopFlag(const std::atomic<bool>* stop) { stop_ = stop; }
  bool stopping() const { return stop_ && *stop_; }
  // Handles events until `ready()` holds (checked before each wait) or `deadline` passes.
  Wait RunUntil(const std::function<bool()>& ready, Env::Time deadline);
  Wait RunFor(const std::function<bool()>& ready, double seconds) {
    return RunUntil(ready, env_.Now() + Seconds(seconds));
  }
  // Handles every event already waiting, without waiting for more.
  void Drain();
  // Connections refused in the handshake, and malformed messages of unknown peers, so far.
  uint64_t refused_connections() const { return refused_.total(); }
  uint64_t rejected_messages() const { return rejections_.total(); }

 private:
  void Dispatch(TransportEvent ev);
  void DispatchMessage(const PeerId& peer, const Message& m, const std::string& authenticated_name);

  Transport& transport_;
  Env& env_;
  WorkerRegistry& registry_;
  const std::string& session_;
  CoordinatorMetrics& metrics_;
  std::map<wire::MessageType, Handler> handlers_;
  const std::atomic<bool>* stop_ = nullptr;
  RejectionLog rejections_;
  RejectionLog refused_;  // handshakes refused by the transport (unknown key, plain TCP)
};

}  // namespace fl::coordinator
