// Who takes part: admission of workers (HELLO -> WELCOME or a refusal), their liveness
// (heartbeats), dropping them, and sending to them.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fl/env.h"
#include "fl/secagg/identity.h"
#include "fl/transport.h"
#include "metrics.h"
#include "options.h"
#include "rejection_log.h"

namespace fl::coordinator {

struct WorkerRecord {
  uint32_t id = 0;
  PeerId peer;
  std::string name;
  Env::Time last_seen{};
  Env::Time last_heartbeat_sent{};
  bool alive = true;
  bool spoke = false;  // sent anything but HELLO since its WELCOME
  wire::Contribution contribution;  // a merge federation: the data vector it offers
  wire::Hello::VoteRole vote_role = wire::Hello::NO_VOTE;  // a private vote: teachers or student
  uint32_t vote_record_floats = 0;  // TEACHERS: the query record size its teachers read
};

// A merge federation's say on a HELLO's contribution: empty reason = admitted.
struct AdmissionVerdict {
  std::string reason;
  wire::Abort::Next next = wire::Abort::REFUSED;
};

class WorkerRegistry {
 public:
  // `roster`, when not null, is the allow-list of names; it must outlive the registry.
  WorkerRegistry(Transport& transport, Env& env, const CoordinatorOptions& options, const secagg::Roster* roster,
                 const std::string& session, CoordinatorMetrics& metrics);

  // Answers a HELLO from `peer`: WELCOME with a worker id and the plan, or ABORT with why.
  // `authenticated_name`: the name the transport authenticated for the link (CURVE); with
  // CURVE, HELLO must name exactly that hospital.
  void Admit(const PeerId& peer, const Message& hello, const std::string& authenticated_name);
  // From now on every HELLO is refused with `reason`.
  void CloseAdmission(std::string reason) { closed_reason_ = std::move(reason); }
  // The federation is over: admission closes and every connected worker is told why.
  void EndFederation(const std::string& reason) {
    CloseAdmission(reason);
    for (WorkerRecord* w : Alive()) Drop(*w, reason, true);
  }

  WorkerRecord* FindByPeer(const PeerId& peer);
  WorkerRecord* Find(uint32_t id);
  std::vector<WorkerRecord*> Alive();
  size_t alive_count();
  // Those of `ids` no longer connected.
  std::vector<uint32_t> Departed(const std::vector<uint32_t>& ids);
  std::string NameOf(uint32_t id) const;

  // A message other than HELLO from `w`.
  void Touch(WorkerRecord& w) {
    w.last_seen = env_.Now();
    w.spoke = true;
  }
  // Takes `w` out of the federation, telling it why when `tell_worker`; the drop
  // listeners (the round in progress) learn its id.
  void Drop(WorkerRecord& w, const std::string& reason, bool tell_worker, wire::Abort::Next next = wire::Abort::REJOIN);
  // `w` has done its part (its final report is in) and leaves: not a dropout.
  void Retire(WorkerRecord& w) { w.alive = false; }
  // Drops every worker silent for longer than the heartbeat timeout.
  void CheckLiveness();
  void OnDrop(std::function<void(uint32_t)> listener) { drop_listeners_.push_back(std::move(listener)); }
  // A merge federation judges each HELLO's contribution. (In a merge federation a HELLO
  // without one is refused, and a training federation refuses every contribution.)
  void SetContributionCheck(std::function<AdmissionVerdict(const wire::Contribution&)> check) {
    contribution_check_ = std::move(check);
  }
  // Refusals so far (every HELLO turned away).
  uint64_t refusals() const { return refusals_.total(); }
  void FlushLogs() { refusals_.Flush(); }

  void Send(const WorkerRecord& w, Message m);
  void Welcome(WorkerRecord& w);
  // ABORT for a round, or (round 0) the end of `w`'s session: it may say HELLO again.
  void SendAbort(const WorkerRecord& w, uint32_t round, const std::string& reason,
                 wire::Abort::Next next = wire::Abort::REJOIN);
  // A message from a peer that is not admitted in this session (the coordinator restarted,
  // or it was dropped): tells it to say HELLO again, at most once a second.
  void TellToRejoin(const PeerId& peer);
  // The coordinator's HEARTBEAT to every admitted worker, every heartbeat_interval_s.
  void SendHeartbeats();

 private:
  void Refuse(const PeerId& peer, const std::string& reason, wire::Abort::Next next = wire::Abort::REFUSED);

  Transport& transport_;
  Env& env_;
  const CoordinatorOptions& options_;
  const secagg::Roster* roster_;
  const std::string& session_;
  CoordinatorMetrics& metrics_;
  std::string closed_reason_;
  std::map<uint32_t, WorkerRecord> workers_;
  uint32_t next_id_ = 1;
  std::vector<std::function<void(uint32_t)>> drop_listeners_;
  std::function<AdmissionVerdict(const wire::Contribution&)> contribution_check_;
  RejectionLog refusals_;
  std::map<PeerId, Env::Time> told_;  // peers told to rejoin, when
};

}  // namespace fl::coordinator
