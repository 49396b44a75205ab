// The worker's side of secure aggregation as a state machine with no I/O: it takes the
// coordinator's messages and returns the messages to send (or an abort with a reason).
// States, one class per file (common/src/secagg/client_*_state.cc):
//   AdvertiseKeys -> ShareKeys -> MaskedInput -> Consistency -> Done, or Aborted.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fl.pb.h"
#include "fl/crypto.h"
#include "fl/ring.h"
#include "fl/secagg/graph.h"
#include "fl/secagg/identity.h"
#include "fl/secagg/params.h"
#include "fl/secagg/shamir.h"
#include "fl/secagg/transcript.h"

namespace fl::secagg {

struct ClientConfig {
  RoundId round;
  uint32_t worker_id = 0;
  const Identity* identity = nullptr;  // must outlive the client
  const Roster* roster = nullptr;      // must outlive the client
  uint32_t min_cohort = 3;             // refuse smaller cohorts
  uint32_t min_survivors = 3;          // never sign or unmask a sum of fewer inputs (with t)
  SecurityParams security;             // this worker's own bounds on k and t
  // When set, sign and unmask only a sum of exactly these inputs (a round whose sum is
  // only safe next to an earlier sum over the same survivors, such as TIES merging's).
  std::optional<std::vector<uint32_t>> required_survivors;
  // ... and where such a round's worker ids must name the same hospitals as the earlier
  // round's (id -> roster name): a neighbour advertising another name is refused.
  std::map<uint32_t, std::string> required_names;
};

struct ClientOutput {
  std::optional<wire::SecAggClientMessage> message;
  std::optional<RingVector> masked_input;  // with the masked-input message
};

struct PeerInfo {
  std::string name;
  crypto::PublicKey enc_public{};
  crypto::PublicKey mask_public{};
  crypto::SecretKey inbound_share_key;  // decrypts this neighbour's shares to us
};

struct HeldShares {  // what neighbour v gave us in round 1
  Share self_seed;   // share of b_v
  Share mask_secret; // share of v's mask-agreement secret key
};

// State shared by the client's states.
struct ClientContext {
  ClientConfig config;
  RingVector input;  // x_u (d + 1 words); wiped once masked
  crypto::X25519KeyPair enc_keys;
  crypto::X25519KeyPair mask_keys;
  crypto::SecretKey self_seed;  // b_u
  RoundParams params;
  std::vector<uint32_t> cohort;  // U1
  NeighbourGraph graph;
  std::map<uint32_t, PeerInfo> neighbours;  // N(u), verified against the roster
  std::map<uint32_t, HeldShares> held;      // from N(u) ∩ U2
  std::vector<uint32_t> signed_survivors;   // U3 as signed in the consistency step
  std::string consistency_transcript;

  void Wipe();  // zeroes the input and drops every secret
};

class ClientState {
 public:
  virtual ~ClientState() = default;
  virtual const char* name() const = 0;
  // Handles `m`; on success sets *next to the following state and returns what to send.
  virtual StatusOr<ClientOutput> Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                        std::unique_ptr<ClientState>* next) = 0;
};

class SecAggClient {
 public:
  explicit SecAggClient(ClientConfig config);
  ~SecAggClient();

  // Draws fresh round keys and returns the signed advertisement (round 0).
  StatusOr<wire::SecAggClientMessage> Start();
  // The fixed-point update including the weight word (d + 1 words). Needed before the
  // shares list is handled (training may still run during the key exchange).
  void SetInput(RingVector input);
  bool has_input() const { return ctx_.input.size() > 0; }
  // Handles the coordinator's next message. An error aborts the client for this round:
  // every secret is wiped and later messages are refused.
  StatusOr<ClientOutput> Handle(const wire::SecAggServerMessage& m);

  const char* state_name() const;
  bool done() const;  // finished the round; false once aborted (also by a later request)
  bool aborted() const { return !abort_reason_.empty(); }
  const std::string& abort_reason() const { return abort_reason_; }
  // The survivor set this worker signed (empty before the consistency step): once done(),
  // the inputs whose sum it helped unmask.
  const std::vector<uint32_t>& signed_survivors() const { return ctx_.signed_survivors; }
  // The roster names of this round's neighbours, by worker id (every other cohort member
  // when the round's graph is complete).
  std::map<uint32_t, std::string> neighbour_names() const;

 private:
  ClientContext ctx_;
  std::unique_ptr<ClientState> state_;
  bool started_ = false;
  std::string abort_reason_;
};

}  // namespace fl::secagg
