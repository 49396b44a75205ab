// Client, after sharing keys: decrypt the neighbours' shares, then send
// y_u = x_u + PRG(b_u) + sum over live neighbours v of +/-PRG(s_uv)  (round 2).
#include "client_states.h"
#include "fl/masking.h"

namespace fl::secagg {

StatusOr<ClientOutput> ShareKeysState::Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                              std::unique_ptr<ClientState>* next) {
  if (m.step_case() != wire::SecAggServerMessage::kShares) return InvalidArgument("expected the shares list");
  if (ctx.input.size() == 0) return FailedPrecondition("no input to mask");
  const ClientConfig& c = ctx.config;
  const uint32_t self = c.worker_id;
  for (const wire::EncryptedShare& e : m.shares().shares()) {
    const uint32_t v = e.from();
    auto peer = ctx.neighbours.find(v);
    if (peer == ctx.neighbours.end()) return InvalidArgument("share from worker " + std::to_string(v) + ", not a neighbour");
    if (e.to() != self) return InvalidArgument("share addressed to another worker");
    if (ctx.held.count(v)) return InvalidArgument("two shares from worker " + std::to_string(v));
    StatusOr<std::string> plain = crypto::Open(peer->second.inbound_share_key, e.ciphertext(), ShareAd(c.round, v, self));
    if (!plain.ok()) return PermissionDenied("share from worker " + std::to_string(v) + " does not authenticate");
    if (plain->size() != 2 * kShareBytes) return InvalidArgument("share plaintext of the wrong size");
    FL_ASSIGN_OR_RETURN(Share seed_share, Share::Decode(self, plain->substr(0, kShareBytes)));
    FL_ASSIGN_OR_RETURN(Share key_share, Share::Decode(self, plain->substr(kShareBytes)));
    std::fill(plain->begin(), plain->end(), '\0');
    ctx.held[v] = HeldShares{seed_share, key_share};
  }
  // Our own secrets are recoverable only from live holders of our shares (the
  // neighbours that shared keys, and ourselves).
  if (ctx.held.size() < ctx.params.t) {
    return Aborted("only " + std::to_string(ctx.held.size() - 1) + " neighbours shared keys, threshold is " +
                   std::to_string(ctx.params.t));
  }

  RingVector y = std::move(ctx.input);
  ctx.input = RingVector();
  crypto::AddChaCha20Mask(SelfMaskKey(ctx.self_seed, c.round, self), +1, y.data(), y.size());
  std::vector<PeerMaskKey> pairs;
  pairs.reserve(ctx.held.size());
  const MaskContext mc = ToMaskContext(c.round);
  for (const auto& [v, shares] : ctx.held) {
    if (v == self) continue;
    FL_ASSIGN_OR_RETURN(crypto::SecretKey k,
                        PairwiseMaskKey(ctx.mask_keys.secret_key, ctx.neighbours[v].mask_public, mc, self, v));
    pairs.push_back({v, k});
  }
  ApplyPairwiseMasks(self, pairs, &y);

  ClientOutput out;
  out.message.emplace();
  out.message->mutable_masked_input();
  out.masked_input = std::move(y);
  *next = std::make_unique<MaskedInputState>();
  return out;
}

}  // namespace fl::secagg
