// Internal: the server's states (one per file).
#pragma once

#include "fl/secagg/server.h"

namespace fl::secagg {

#define FL_SERVER_STATE(Class, label)                                                                   \
  class Class : public ServerState {                                                                    \
   public:                                                                                              \
    const char* name() const override { return label; }                                                 \
    const std::set<uint32_t>& Expected(const ServerContext& ctx) const override;                       \
    Status Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m, const uint32_t* vec, \
                   size_t n) override;                                                                  \
    StatusOr<std::vector<Outgoing>> Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) override; \
  }

FL_SERVER_STATE(ServerAdvertiseKeysState, "advertise-keys");  // collects signed keys (U1)
FL_SERVER_STATE(ServerShareKeysState, "share-keys");          // collects encrypted shares (U2)
FL_SERVER_STATE(ServerMaskedInputState, "masked-input");      // sums masked inputs (U3)
FL_SERVER_STATE(ServerConsistencyState, "consistency");       // collects signatures on U3 (U4)
FL_SERVER_STATE(ServerUnmaskingState, "unmasking");           // collects shares, removes masks (U5)

#undef FL_SERVER_STATE

class ServerDoneState : public ServerState {
 public:
  const char* name() const override { return "done"; }
  const std::set<uint32_t>& Expected(const ServerContext&) const override {
    static const std::set<uint32_t> none;
    return none;
  }
  Status Receive(ServerContext&, uint32_t, const wire::SecAggClientMessage&, const uint32_t*, size_t) override {
    return FailedPrecondition("the round is over");
  }
  StatusOr<std::vector<Outgoing>> Close(ServerContext&, std::unique_ptr<ServerState>*) override {
    return FailedPrecondition("the round is over");
  }
};

// Common admission check: `from` is expected in this phase, alive, and not yet heard.
Status Admit(ServerContext& ctx, const std::set<uint32_t>& expected, uint32_t from,
             wire::SecAggClientMessage::StepCase got, wire::SecAggClientMessage::StepCase want);
std::string Who(uint32_t id);

// The workers that answered in the phase now closing and are still alive.
std::set<uint32_t> LiveResponders(const ServerContext& ctx);
// Aborts the round (kAborted) when `have` workers are fewer than `need`; `what` names the
// step's set, e.g. "masked inputs".
Status RequireAtLeast(size_t have, uint32_t need, const std::string& what, const char* bound);
// The survivor minimum of this round (params.h, MinimumSurvivors).
uint32_t SurvivorMinimum(const ServerContext& ctx);

}  // namespace fl::secagg
