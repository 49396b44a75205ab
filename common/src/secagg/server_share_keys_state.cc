// Server round 1: collect each worker's encrypted shares (one ciphertext per
// neighbour); U2 = those that answered. Closing relays to each worker of U2 the
// ciphertexts addressed to it by other members of U2.
#include "server_states.h"

namespace fl::secagg {

const std::set<uint32_t>& ServerShareKeysState::Expected(const ServerContext& ctx) const { return ctx.u1_set; }

Status ServerShareKeysState::Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m,
                                     const uint32_t*, size_t) {
  FL_RETURN_IF_ERROR(Admit(ctx, ctx.u1_set, from, m.step_case(), wire::SecAggClientMessage::kShare));
  const auto& shares = m.share().shares();
  if (static_cast<uint32_t>(shares.size()) != ctx.graph.Neighbours(from).size()) {
    return InvalidArgument(Who(from) + " sent " + std::to_string(shares.size()) + " shares for " +
                           std::to_string(ctx.graph.Neighbours(from).size()) + " neighbours");
  }
  std::set<uint32_t> to;
  for (const wire::EncryptedShare& e : shares) {
    if (e.from() != from || !ctx.graph.AreNeighbours(from, e.to()) || !to.insert(e.to()).second) {
      return InvalidArgument(Who(from) + " sent a share with a wrong sender or recipient");
    }
    if (e.ciphertext().size() != 2 * kShareBytes + crypto::kSealOverhead) {
      return InvalidArgument(Who(from) + " sent a share ciphertext of the wrong size");
    }
  }
  for (const wire::EncryptedShare& e : shares) ctx.inbox[e.to()].push_back(e);
  return Status::Ok();
}

StatusOr<std::vector<Outgoing>> ServerShareKeysState::Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) {
  ctx.u2 = LiveResponders(ctx);
  // Only workers that shared keys can send inputs: below the survivor minimum here, the
  // sum could only ever be of too few inputs.
  FL_RETURN_IF_ERROR(RequireAtLeast(ctx.u2.size(), SurvivorMinimum(ctx), "workers shared keys", "survivor minimum"));
  std::vector<Outgoing> out;
  for (uint32_t v : ctx.u2) {
    Outgoing o{v, {}};
    wire::ShareList* list = o.message.mutable_shares();
    for (auto& e : ctx.inbox[v]) {
      if (ctx.u2.count(e.from())) *list->add_shares() = std::move(e);
    }
    out.push_back(std::move(o));
  }
  ctx.inbox.clear();
  *next = std::make_unique<ServerMaskedInputState>();
  return out;
}

}  // namespace fl::secagg
