// Server round 2: add each worker's masked input into the running sum (O(d) memory
// whatever the cohort size); U3 = those that answered. Closing announces U3.
#include "server_states.h"

namespace fl::secagg {

const std::set<uint32_t>& ServerMaskedInputState::Expected(const ServerContext& ctx) const { return ctx.u2; }

Status ServerMaskedInputState::Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m,
                                       const uint32_t* vec, size_t n) {
  FL_RETURN_IF_ERROR(Admit(ctx, ctx.u2, from, m.step_case(), wire::SecAggClientMessage::kMaskedInput));
  if (!vec || n != ctx.sum.size()) {
    return InvalidArgument(Who(from) + " sent a masked vector of " + std::to_string(vec ? n : 0) + " words, expected " +
                           std::to_string(ctx.sum.size()));
  }
  return ctx.sum.Add(vec, n);
}

StatusOr<std::vector<Outgoing>> ServerMaskedInputState::Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) {
  // A worker that sent its input and then dropped still counts: its input is in the sum.
  ctx.u3 = ctx.responded;
  // Never publish a sum of fewer inputs than the survivor minimum: with two, each
  // survivor would learn the other's input from the published model.
  FL_RETURN_IF_ERROR(RequireAtLeast(ctx.u3.size(), SurvivorMinimum(ctx), "masked inputs", "survivor minimum"));
  std::vector<Outgoing> out;
  for (uint32_t u : ctx.u3) {
    Outgoing o{u, {}};
    *o.message.mutable_consistency()->mutable_survivors() = {ctx.u3.begin(), ctx.u3.end()};
    out.push_back(std::move(o));
  }
  *next = std::make_unique<ServerConsistencyState>();
  return out;
}

}  // namespace fl::secagg
