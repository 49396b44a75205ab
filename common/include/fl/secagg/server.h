// The coordinator's side of secure aggregation as a state machine with no I/O. It only
// ever holds masked vectors and their running sum (O(d)), public keys, ciphertexts it
// cannot read, and, in the last step, the shares needed to remove the masks.
// States, one class per file (common/src/secagg/server_*_state.cc):
//   AdvertiseKeys -> ShareKeys -> MaskedInput -> Consistency -> Unmasking -> Done, or Aborted.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fl.pb.h"
#include "fl/ring.h"
#include "fl/secagg/graph.h"
#include "fl/secagg/identity.h"
#include "fl/secagg/params.h"
#include "fl/secagg/shamir.h"
#include "fl/secagg/transcript.h"

namespace fl::secagg {

struct ServerConfig {
  RoundId round;
  std::vector<uint32_t> cohort;       // U0: workers asked to take part
  uint64_t vector_length = 0;         // d + 1 words
  SecurityParams security;            // for the choice of k and t
  uint32_t min_cohort = 3;            // abort when fewer workers advertise keys (U1)
  uint32_t min_survivors = 3;         // never unmask a sum of fewer inputs (with t: params.h)
  // How k and t are chosen for the n workers that advertised keys; empty: ChooseParameters
  // with `security` (the simulation substitutes a fixed graph to size other degrees).
  std::function<StatusOr<RoundParams>(uint32_t n)> choose_params;
  const Roster* roster = nullptr;     // optional: reject forged signatures early
  int threads = 1;                    // threads removing masks in the unmasking step
};

struct Outgoing {
  uint32_t to;
  wire::SecAggServerMessage message;
};

struct ServerContext {
  ServerConfig config;
  std::set<uint32_t> alive;                       // not known to have dropped
  std::set<uint32_t> u0;                          // the cohort asked to take part
  std::map<uint32_t, wire::SignedKeys> keys;      // keys of U1
  std::vector<uint32_t> u1;                       // ascending
  std::set<uint32_t> u1_set;
  RoundParams params;
  NeighbourGraph graph;
  std::map<uint32_t, std::vector<wire::EncryptedShare>> inbox;  // by recipient
  std::set<uint32_t> u2, u3, u4;
  RingVector sum;                                 // running sum of masked inputs
  std::map<uint32_t, std::string> signatures;     // consistency signatures of U4
  std::map<uint32_t, std::vector<Share>> seed_shares;    // owner in U3 -> shares of b
  std::map<uint32_t, std::vector<Share>> secret_shares;  // owner in U2 \ U3 -> shares of mask secret
  std::set<uint32_t> responded;                   // workers heard from in the current phase
};

class ServerState {
 public:
  virtual ~ServerState() = default;
  virtual const char* name() const = 0;
  // The workers expected to answer in this phase.
  virtual const std::set<uint32_t>& Expected(const ServerContext& ctx) const = 0;
  virtual Status Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m, const uint32_t* vec,
                         size_t n) = 0;
  // Ends the phase; sets *next and returns what to send.
  virtual StatusOr<std::vector<Outgoing>> Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) = 0;
};

class SecAggServer {
 public:
  explicit SecAggServer(ServerConfig config);
  ~SecAggServer();

  const char* phase_name() const;
  bool done() const;
  bool aborted() const { return !abort_reason_.empty(); }
  const std::string& abort_reason() const { return abort_reason_; }

  // A message from worker `from` (with the vector for a masked input). An error names
  // the reason and excludes that worker from the rest of the round, as if it dropped.
  Status Receive(uint32_t from, const wire::SecAggClientMessage& m, const uint32_t* vec = nullptr, size_t n = 0);
  // The transport lost worker `id`.
  void Drop(uint32_t id);
  // Every live worker expected in this phase has answered.
  bool ReadyToClose() const;
  std::vector<uint32_t> Pending() const;
  // Ends the phase with the workers heard from and returns the next messages. Fails,
  // aborting the round, when too few workers remain.
  StatusOr<std::vector<Outgoing>> Close();
  // The sum of the survivors' inputs, once the unmasking phase has closed.
  StatusOr<RingVector> TakeResult();

  const RoundParams& params() const { return ctx_.params; }
  const std::set<uint32_t>& survivors() const { return ctx_.u3; }
  // Bytes held by the server for this round (vectors, ciphertexts, keys, shares).
  size_t MemoryBytes() const;

 private:
  ServerContext ctx_;
  std::unique_ptr<ServerState> state_;
  std::string abort_reason_;
  bool result_taken_ = false;
};

}  // namespace fl::secagg
