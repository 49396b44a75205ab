#include "event_loop.h"

#include <algorithm>

#include "fl/log.h"

namespace fl::coordinator {

EventLoop::EventLoop(Transport& transport, Env& env, WorkerRegistry& registry, const std::string& session,
                     CoordinatorMetrics& metrics)
    : transport_(transport), env_(env), registry_(registry), session_(session), metrics_(metrics),
      rejections_(env, "rejected a malformed message from an unknown peer"),
      refused_(env, "refused a connection") {}

EventLoop::Wait EventLoop::RunUntil(const std::function<bool()>& ready, Env::Time deadline) {
  while (true) {
    if (ready()) return Wait::kReady;
    if (stopping()) return Wait::kStopped;
    const Env::Time now = env_.Now();
    if (now >= deadline) return Wait::kTimeout;
    const double wait_ms = std::clamp(ToSeconds(deadline - now) * 1000.0, 1.0, 100.0);
    if (auto ev = transport_.Receive(std::chrono::milliseconds(static_cast<int>(wait_ms)))) Dispatch(std::move(*ev));
    registry_.CheckLiveness();
    registry_.SendHeartbeats();
    metrics_.Tick();
    metrics_.SetConnectedWorkers(registry_.alive_count());
    registry_.FlushLogs();
    rejections_.Flush();
    refused_.Flush();
  }
}

void EventLoop::Drain() {
  while (auto ev = transport_.Receive(std::chrono::milliseconds(0))) Dispatch(std::move(*ev));
  registry_.CheckLiveness();
}

void EventLoop::Dispatch(TransportEvent ev) {
  WorkerRecord* w = registry_.FindByPeer(ev.peer);
  const std::string who = w ? ("worker " + std::to_string(w->id) + " (" + w->name + ")") : "an unknown peer";
  switch (ev.kind) {
    case TransportEvent::Kind::kConnected:
      return;
    case TransportEvent::Kind::kDisconnected:
      if (w) registry_.Drop(*w, "its connection closed", false);
      return;
    case TransportEvent::Kind::kRefused:
      metrics_.Refused(ev.status.message().find("not in the roster") != std::string::npos ? "unknown_key"
                                                                                          : "handshake_failed");
      return refused_.Add(ev.status.message());
    case TransportEvent::Kind::kRejected:
      if (!w) return rejections_.Add(ev.status.message());
      FL_LOG(kWarning) << "rejected a malformed message from " << who << ": " << ev.status.message();
      registry_.Drop(*w, "sent a malformed message: " + ev.status.message(), true);
      return;
    case TransportEvent::Kind::kMessage:
      return DispatchMessage(ev.peer, ev.message, ev.authenticated_name);
  }
}

void EventLoop::DispatchMessage(const PeerId& peer, const Message& m, const std::string& authenticated_name) {
  WorkerRecord* w = registry_.FindByPeer(peer);
  if (m.type() == wire::HELLO) return registry_.Admit(peer, m, authenticated_name);
  if (!w || !w->alive) {
    // A worker of another session (this coordinator restarted) or one that was dropped:
    // it is told to say HELLO again, unless it is only saying goodbye.
    FL_LOG(kDebug) << "ignored " << TypeName(m.type()) << " from " << (w ? w->name : "a peer not admitted");
    if (m.type() != wire::ABORT && m.type() != wire::FINAL_REPORT) registry_.TellToRejoin(peer);
    return;
  }
  if (m.envelope.session() != session_ || m.envelope.sender() != w->id) {
    return registry_.Drop(*w, "message with a wrong session or sender id", true);
  }
  registry_.Touch(*w);
  auto handler = handlers_.find(m.type());
  if (handler == handlers_.end()) return registry_.Drop(*w, "unexpected message type " + TypeName(m.type()), true);
  handler->second(*w, m);
}

}  // namespace fl::coordinator
