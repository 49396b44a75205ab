// Server round 3: collect signatures on U3; U4 = those that answered. Closing asks each
// worker of U4 to unmask: shares of b_u for survivors, of the mask secret for workers
// that shared keys but sent no input, with its neighbours' signatures as evidence.
#include "server_states.h"

namespace fl::secagg {

const std::set<uint32_t>& ServerConsistencyState::Expected(const ServerContext& ctx) const { return ctx.u3; }

Status ServerConsistencyState::Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m,
                                       const uint32_t*, size_t) {
  FL_RETURN_IF_ERROR(Admit(ctx, ctx.u3, from, m.step_case(), wire::SecAggClientMessage::kSignature));
  if (m.signature().signature().size() != crypto::kSignatureBytes) {
    return InvalidArgument(Who(from) + " sent a malformed consistency signature");
  }
  ctx.signatures[from] = m.signature().signature();
  return Status::Ok();
}

StatusOr<std::vector<Outgoing>> ServerConsistencyState::Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) {
  ctx.u4 = LiveResponders(ctx);
  FL_RETURN_IF_ERROR(RequireAtLeast(ctx.u4.size(), ctx.params.t, "consistency signatures", "threshold"));
  std::vector<uint32_t> dropped;
  for (uint32_t id : ctx.u2) {
    if (!ctx.u3.count(id)) dropped.push_back(id);
  }
  std::vector<Outgoing> out;
  for (uint32_t u : ctx.u4) {
    Outgoing o{u, {}};
    wire::UnmaskRequest* req = o.message.mutable_unmask();
    *req->mutable_survivors() = {ctx.u3.begin(), ctx.u3.end()};
    *req->mutable_dropped() = {dropped.begin(), dropped.end()};
    for (uint32_t v : ctx.graph.Neighbours(u)) {
      auto it = ctx.signatures.find(v);
      if (it == ctx.signatures.end() || !ctx.u4.count(v)) continue;
      wire::SignatureEntry* e = req->add_signatures();
      e->set_worker_id(v);
      e->set_signature(it->second);
    }
    out.push_back(std::move(o));
  }
  *next = std::make_unique<ServerUnmaskingState>();
  return out;
}

}  // namespace fl::secagg
