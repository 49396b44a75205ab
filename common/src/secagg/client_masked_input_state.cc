// Client, after sending its masked input: sign the survivor set U3 the coordinator
// announces (round 3, consistency check of the malicious-coordinator variant).
#include "client_states.h"

namespace fl::secagg {

StatusOr<ClientOutput> MaskedInputState::Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                                std::unique_ptr<ClientState>* next) {
  if (m.step_case() != wire::SecAggServerMessage::kConsistency) return InvalidArgument("expected the survivor set");
  const auto& survivors = m.consistency().survivors();
  FL_RETURN_IF_ERROR(CheckSortedIds(survivors, "survivor set"));
  std::vector<uint32_t> u3(survivors.begin(), survivors.end());
  for (uint32_t id : u3) {
    if (!std::binary_search(ctx.cohort.begin(), ctx.cohort.end(), id)) {
      return InvalidArgument("survivor set names worker " + std::to_string(id) + ", unknown in this round");
    }
  }
  if (!std::binary_search(u3.begin(), u3.end(), ctx.config.worker_id)) {
    return InvalidArgument("survivor set omits this worker");
  }
  // Signing a survivor set commits to unmasking its sum: never for fewer inputs than the
  // survivor minimum (t, min_survivors, 3), whatever the coordinator announces.
  const uint32_t minimum = MinimumSurvivors(ctx.params, ctx.config.min_survivors);
  if (u3.size() < minimum) {
    return Aborted("only " + std::to_string(u3.size()) + " survivors; this worker's survivor minimum is " +
                   std::to_string(minimum) + " (t " + std::to_string(ctx.params.t) + ")");
  }
  if (ctx.config.required_survivors && u3 != *ctx.config.required_survivors) {
    return Aborted("the survivor set differs from the earlier round's (" + std::to_string(u3.size()) + " of " +
                   std::to_string(ctx.config.required_survivors->size()) + "): refusing to sign it");
  }
  ctx.signed_survivors = std::move(u3);
  ctx.consistency_transcript = ConsistencyTranscript(ctx.config.round, ctx.signed_survivors);
  ClientOutput out;
  out.message.emplace();
  out.message->mutable_signature()->set_signature(crypto::Sign(ctx.config.identity->keys, ctx.consistency_transcript));
  *next = std::make_unique<ConsistencyState>();
  return out;
}

}  // namespace fl::secagg
