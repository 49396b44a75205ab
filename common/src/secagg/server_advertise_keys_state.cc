// Server round 0: collect each worker's signed round keys; U1 = those that answered.
// Closing chooses k and t for |U1|, derives the neighbour graph, and sends each worker
// its neighbours' signed keys.
#include "server_states.h"

namespace fl::secagg {

const std::set<uint32_t>& ServerAdvertiseKeysState::Expected(const ServerContext& ctx) const { return ctx.u0; }

Status ServerAdvertiseKeysState::Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m,
                                         const uint32_t*, size_t) {
  FL_RETURN_IF_ERROR(Admit(ctx, ctx.u0, from, m.step_case(), wire::SecAggClientMessage::kAdvertise));
  const wire::SignedKeys& k = m.advertise();
  if (k.worker_id() != from) return PermissionDenied(Who(from) + " advertised keys for " + Who(k.worker_id()));
  if (k.enc_public_key().size() != crypto::kKeyBytes || k.mask_public_key().size() != crypto::kKeyBytes ||
      k.signature().size() != crypto::kSignatureBytes || k.name().empty() || k.name().size() > 64) {
    return InvalidArgument(Who(from) + " advertised malformed keys");
  }
  if (ctx.config.roster) {
    const crypto::PublicKey* signer = ctx.config.roster->Find(k.name());
    if (!signer) return PermissionDenied(Who(from) + " claims a name that is not in the roster");
    if (!crypto::Verify(*signer, AdvertiseTranscript(ctx.config.round, from, k.name(), k.enc_public_key(),
                                                     k.mask_public_key()),
                        k.signature())) {
      return PermissionDenied("signature of " + Who(from) + " does not verify (forged or replayed keys)");
    }
  }
  ctx.keys[from] = k;
  return Status::Ok();
}

StatusOr<std::vector<Outgoing>> ServerAdvertiseKeysState::Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) {
  for (auto it = ctx.keys.begin(); it != ctx.keys.end();) {
    it = ctx.alive.count(it->first) ? std::next(it) : ctx.keys.erase(it);
  }
  for (const auto& [id, k] : ctx.keys) ctx.u1.push_back(id);
  ctx.u1_set.insert(ctx.u1.begin(), ctx.u1.end());
  const uint32_t n = static_cast<uint32_t>(ctx.u1.size());
  FL_RETURN_IF_ERROR(
      RequireAtLeast(n, std::max<uint32_t>(3, ctx.config.min_cohort), "workers advertised keys", "minimum cohort"));
  FL_ASSIGN_OR_RETURN(ctx.params, ctx.config.choose_params ? ctx.config.choose_params(n)
                                                            : ChooseParameters(n, ctx.config.security));
  if (ctx.params.complete) {
    ctx.graph = NeighbourGraph::Complete(ctx.u1);
  } else {
    FL_ASSIGN_OR_RETURN(ctx.graph, NeighbourGraph::Harary(ctx.u1, ctx.params.k, GraphSeed(ctx.config.round, ctx.u1)));
  }
  ctx.sum = RingVector(ctx.config.vector_length);
  std::vector<Outgoing> out;
  out.reserve(n);
  for (uint32_t u : ctx.u1) {
    Outgoing o{u, {}};
    wire::NeighbourKeys* nk = o.message.mutable_keys();
    nk->mutable_params()->set_n(ctx.params.n);
    nk->mutable_params()->set_k(ctx.params.k);
    nk->mutable_params()->set_t(ctx.params.t);
    nk->mutable_params()->set_complete(ctx.params.complete);
    *nk->mutable_cohort() = {ctx.u1.begin(), ctx.u1.end()};
    for (uint32_t v : ctx.graph.Neighbours(u)) *nk->add_neighbours() = ctx.keys[v];
    out.push_back(std::move(o));
  }
  *next = std::make_unique<ServerShareKeysState>();
  return out;
}

}  // namespace fl::secagg
