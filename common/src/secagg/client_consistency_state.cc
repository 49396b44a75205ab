// Client, after signing the survivor set: check the unmasking request and reveal, for
// each neighbour v that shared keys, the share of b_v if v survived or the share of v's
// mask secret if v dropped, never both (round 4).
#include <set>

#include "client_states.h"
#include "fl/log.h"

namespace fl::secagg {

StatusOr<ClientOutput> ConsistencyState::Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                                std::unique_ptr<ClientState>* next) {
  if (m.step_case() != wire::SecAggServerMessage::kUnmask) return InvalidArgument("expected the unmasking request");
  const wire::UnmaskRequest& req = m.unmask();
  FL_RETURN_IF_ERROR(CheckSortedIds(req.survivors(), "survivors"));
  FL_RETURN_IF_ERROR(CheckSortedIds(req.dropped(), "dropped workers"));
  const std::vector<uint32_t> survivors(req.survivors().begin(), req.survivors().end());
  // Checked again here, not only when signing: the shares revealed below unmask the sum of
  // exactly these survivors.
  const uint32_t minimum = MinimumSurvivors(ctx.params, ctx.config.min_survivors);
  if (survivors.size() < minimum) {
    FL_LOG(kWarning) << "refused to unmask a sum of only " << survivors.size() << " inputs";
    return PermissionDenied("refusing to unmask a sum of " + std::to_string(survivors.size()) +
                            " inputs; the survivor minimum is " + std::to_string(minimum));
  }
  if (survivors != ctx.signed_survivors) {
    return PermissionDenied("unmasking request names a survivor set other than the one this worker signed");
  }
  const std::set<uint32_t> dropped(req.dropped().begin(), req.dropped().end());
  for (uint32_t v : dropped) {
    if (std::binary_search(survivors.begin(), survivors.end(), v)) {
      FL_LOG(kWarning) << "refused an unmasking request for both shares of worker " << v;
      return PermissionDenied("refusing to reveal both the self-mask share and the mask-secret share of worker " +
                              std::to_string(v));
    }
    if (!std::binary_search(ctx.cohort.begin(), ctx.cohort.end(), v)) {
      return InvalidArgument("unmasking request names worker " + std::to_string(v) + ", unknown in this round");
    }
  }
  // At least t holders (this worker and t - 1 neighbours) must have signed the same
  // survivor set. Signatures are verified until t - 1 are valid: more add nothing.
  std::set<uint32_t> signers;
  size_t valid = 0;
  for (const wire::SignatureEntry& s : req.signatures()) {
    auto peer = ctx.neighbours.find(s.worker_id());
    if (peer == ctx.neighbours.end()) {
      return InvalidArgument("consistency signature from worker " + std::to_string(s.worker_id()) + ", not a neighbour");
    }
    if (!signers.insert(s.worker_id()).second) return InvalidArgument("two consistency signatures from one worker");
    if (valid + 1 >= ctx.params.t) continue;
    if (!crypto::Verify(*ctx.config.roster->Find(peer->second.name), ctx.consistency_transcript, s.signature())) {
      return PermissionDenied("consistency signature of worker " + std::to_string(s.worker_id()) + " does not verify");
    }
    ++valid;
  }
  if (valid + 1 < ctx.params.t) {  // our own signature counts too
    return PermissionDenied("only " + std::to_string(valid) + " neighbours signed the survivor set, " +
                            std::to_string(ctx.params.t - 1) + " needed");
  }
  ClientOutput out;
  out.message.emplace();
  wire::UnmaskResponse* resp = out.message->mutable_unmask();
  for (const auto& [v, shares] : ctx.held) {
    const bool survived = std::binary_search(survivors.begin(), survivors.end(), v);
    if (!survived && !dropped.count(v)) continue;
    wire::RevealedShare* r = resp->add_shares();
    r->set_owner(v);
    r->set_kind(survived ? wire::RevealedShare::SELF_MASK_SEED : wire::RevealedShare::MASK_SECRET);
    r->set_share(survived ? shares.self_seed.Encode() : shares.mask_secret.Encode());
  }
  *next = std::make_unique<DoneState>();
  return out;
}

}  // namespace fl::secagg
