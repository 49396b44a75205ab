#include "worker_registry.h"

#include <cstdio>

#include "fl/log.h"
#include "fl/names.h"

namespace fl::coordinator {

WorkerRegistry::WorkerRegistry(Transport& transport, Env& env, const CoordinatorOptions& options,
                               const secagg::Roster* roster, const std::string& session, CoordinatorMetrics& metrics)
    : transport_(transport), env_(env), options_(options), roster_(roster), session_(session), metrics_(metrics),
      refusals_(env, "refused a worker") {}

void WorkerRegistry::Refuse(const PeerId& peer, const std::string& reason, wire::Abort::Next next) {
  refusals_.Add(reason);
  metrics_.Refused(next == wire::Abort::REFUSED ? "hello_refused" : "hello_deferred");
  wire::Abort a;
  a.set_reason(reason);
  a.set_next(next);
  (void)transport_.Send(peer, MakeMessage(wire::ABORT, session_, 0, 0, &a));
}

void WorkerRegistry::Admit(const PeerId& peer, const Message& m, const std::string& authenticated_name) {
  wire::Hello hello;
  if (!UnpackBody(m, &hello).ok() || !m.payload.empty()) return Refuse(peer, "malformed HELLO");
  if (hello.protocol_version() != kProtocolVersion) return Refuse(peer, "unsupported protocol version");
  if (!IsValidName(hello.name())) return Refuse(peer, "worker names are 1-64 characters of [A-Za-z0-9._-]");
  if (roster_ && !roster_->Find(hello.name())) return Refuse(peer, "the name " + hello.name() + " is not in the roster");
  const bool authenticated = options_.transport_security == "curve";
  if (authenticated && hello.name() != authenticated_name) {
    // A stolen name is not enough: the link's key must be that hospital's.
    return Refuse(peer, "the name " + hello.name() + " is not the hospital this connection's key belongs to (" +
                            (authenticated_name.empty() ? std::string("none") : authenticated_name) + ")");
  }
  if (!closed_reason_.empty()) return Refuse(peer, closed_reason_, wire::Abort::FEDERATION_OVER);
  // A HELLO repeated before the worker heard its WELCOME (a slow or lossy link: the worker
  // asks again after a second without an answer) is answered with the same WELCOME, so
  // whichever copy reaches the worker first names the record this coordinator keeps.
  for (auto& [id, o] : workers_) {
    if (o.alive && !o.spoke && o.peer == peer && o.name == hello.name()) {
      FL_LOG(kDebug) << "repeated HELLO from worker " << o.id << " (" << o.name << "): welcomed again";
      return Welcome(o);
    }
  }
  // A hospital that says HELLO again after it spoke (it lost its session, or its link came
  // back after it was dropped) is admitted afresh: its previous record on this link, or,
  // when the link is authenticated as that hospital, on any link, makes way.
  for (auto& [id, o] : workers_) {
    if (o.peer == peer || (o.alive && o.name == hello.name() && authenticated)) {
      Drop(o, "rejoined on a new session", false);
      o.peer.clear();
    } else if (o.alive && o.name == hello.name()) {
      return Refuse(peer, "the name " + hello.name() + " is already connected", wire::Abort::REJOIN);
    }
  }
  if (options_.merge.enabled() != hello.has_contribution()) {
    return Refuse(peer, options_.merge.enabled()
                            ? "this is a merge federation: a hospital joins with fl-worker contribute, after "
                              "fl-worker finetune --base (docs/merging.md)"
                            : "this federation trains; fl-worker contribute is for merge federations");
  }
  if (options_.vote.enabled != (hello.vote_role() != wire::Hello::NO_VOTE)) {
    return Refuse(peer, options_.vote.enabled
                            ? "this is a private vote: a hospital joins with fl-worker vote (teachers) or fl-worker "
                              "ask (a student; docs/privacy.md)"
                            : "this federation holds no private vote; fl-worker vote and ask are for one");
  }
  if (hello.vote_role() != wire::Hello::NO_VOTE && hello.vote_role() != wire::Hello::TEACHERS &&
      hello.vote_role() != wire::Hello::STUDENT) {
    return Refuse(peer, "malformed HELLO: unknown vote role");
  }
  if (hello.has_contribution() && contribution_check_) {
    const AdmissionVerdict verdict = contribution_check_(hello.contribution());
    if (!verdict.reason.empty()) return Refuse(peer, verdict.reason, verdict.next);
  }
  if (alive_count() >= options_.max_workers) return Refuse(peer, "the federation is full", wire::Abort::REJOIN);
  WorkerRecord w;
  w.id = next_id_++;
  w.peer = peer;
  w.name = hello.name();
  w.contribution = hello.contribution();
  w.vote_role = hello.vote_role();
  w.vote_record_floats = hello.vote_record_floats();
  w.last_seen = env_.Now();
  w.last_heartbeat_sent = w.last_seen;
  FL_LOG(kInfo) << "admitted worker " << w.id << " (" << w.name << "), " << alive_count() + 1 << " connected";
  Welcome(workers_[w.id] = std::move(w));
}

void WorkerRegistry::Welcome(WorkerRecord& w) {
  wire::Welcome welcome;
  welcome.set_worker_id(w.id);
  welcome.set_plan_json(PlanToJson(options_.plan).dump());
  Send(w, MakeMessage(wire::WELCOME, session_, 0, 0, &welcome));
}

void WorkerRegistry::TellToRejoin(const PeerId& peer) {
  // At most one answer a second to a peer, and a bounded memory of whom we answered.
  const Env::Time now = env_.Now();
  auto it = told_.find(peer);
  if (it != told_.end() && now - it->second < Seconds(1.0)) return;
  if (told_.size() > 10000) told_.clear();
  told_[peer] = now;
  wire::Abort a;
  a.set_reason("not admitted in this coordinator session: say HELLO to rejoin");
  a.set_next(wire::Abort::REJOIN);
  (void)transport_.Send(peer, MakeMessage(wire::ABORT, session_, 0, 0, &a));
}

void WorkerRegistry::SendHeartbeats() {
  const Env::Time now = env_.Now();
  for (auto& [id, w] : workers_) {
    if (!w.alive || ToSeconds(now - w.last_heartbeat_sent) < options_.heartbeat_interval_s) continue;
    w.last_heartbeat_sent = now;
    Send(w, MakeMessage(wire::HEARTBEAT, session_, 0, 0));
  }
}

WorkerRecord* WorkerRegistry::FindByPeer(const PeerId& peer) {
  for (auto& [id, w] : workers_) {
    if (w.peer == peer) return &w;
  }
  return nullptr;
}

WorkerRecord* WorkerRegistry::Find(uint32_t id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

std::vector<WorkerRecord*> WorkerRegistry::Alive() {
  std::vector<WorkerRecord*> out;
  for (auto& [id, w] : workers_) {
    if (w.alive) out.push_back(&w);
  }
  return out;
}

size_t WorkerRegistry::alive_count() { return Alive().size(); }

std::vector<uint32_t> WorkerRegistry::Departed(const std::vector<uint32_t>& ids) {
  std::vector<uint32_t> out;
  for (uint32_t id : ids) {
    const WorkerRecord* w = Find(id);
    if (!w || !w->alive) out.push_back(id);
  }
  return out;
}

std::string WorkerRegistry::NameOf(uint32_t id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? "worker " + std::to_string(id) : it->second.name;
}

void WorkerRegistry::Drop(WorkerRecord& w, const std::string& reason, bool tell_worker, wire::Abort::Next next) {
  if (!w.alive) return;
  w.alive = false;
  FL_LOG(kWarning) << "worker " << w.id << " (" << w.name << ") dropped: " << reason;
  if (tell_worker) SendAbort(w, 0, reason, next);
  for (auto& listener : drop_listeners_) listener(w.id);
}

void WorkerRegistry::CheckLiveness() {
  const Env::Time now = env_.Now();
  for (auto& [id, w] : workers_) {
    if (w.alive && ToSeconds(now - w.last_seen) > options_.heartbeat_timeout_s) {
      char reason[80];
      std::snprintf(reason, sizeof reason, "silent for more than %.1f s", options_.heartbeat_timeout_s);
      Drop(w, reason, true);
    }
  }
}

void WorkerRegistry::Send(const WorkerRecord& w, Message m) {
  if (Status s = transport_.Send(w.peer, std::move(m)); !s.ok()) {
    FL_LOG(kWarning) << "send to " << w.name << ": " << s.ToString();
  }
}

void WorkerRegistry::SendAbort(const WorkerRecord& w, uint32_t round, const std::string& reason,
                               wire::Abort::Next next) {
  wire::Abort a;
  a.set_reason(reason);
  if (round == 0) a.set_next(next);  // its session is over; REJOIN: a new one may follow
  Send(w, MakeMessage(wire::ABORT, session_, round, 0, &a));
}

}  // namespace fl::coordinator
