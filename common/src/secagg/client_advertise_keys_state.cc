// Client, after advertising keys: check the neighbours' signed keys and the round
// parameters, then share b_u and the mask secret with the neighbours (round 1).
#include <set>

#include "client_states.h"

namespace fl::secagg {

StatusOr<ClientOutput> AdvertiseKeysState::Handle(ClientContext& ctx, const wire::SecAggServerMessage& m,
                                                  std::unique_ptr<ClientState>* next) {
  if (m.step_case() != wire::SecAggServerMessage::kKeys) return InvalidArgument("expected the neighbours' keys");
  const wire::NeighbourKeys& nk = m.keys();
  const ClientConfig& c = ctx.config;
  const uint32_t self = c.worker_id;

  FL_RETURN_IF_ERROR(CheckSortedIds(nk.cohort(), "cohort"));
  ctx.cohort.assign(nk.cohort().begin(), nk.cohort().end());
  ctx.params = RoundParams{nk.params().n(), nk.params().k(), nk.params().t(), nk.params().complete()};
  if (ctx.params.n != ctx.cohort.size()) return InvalidArgument("parameter n does not match the cohort");
  if (!std::binary_search(ctx.cohort.begin(), ctx.cohort.end(), self)) {
    return InvalidArgument("this worker is not in the announced cohort");
  }
  // The coordinator must not weaken this worker's protection.
  FL_RETURN_IF_ERROR(CheckParameters(ctx.params, c.min_cohort, c.security));

  // Rebuild the graph ourselves from public data; the coordinator only relays keys.
  if (ctx.params.complete) {
    ctx.graph = NeighbourGraph::Complete(ctx.cohort);
  } else {
    FL_ASSIGN_OR_RETURN(ctx.graph, NeighbourGraph::Harary(ctx.cohort, ctx.params.k, GraphSeed(c.round, ctx.cohort)));
  }
  const std::vector<uint32_t> expected = ctx.graph.Neighbours(self);
  if (static_cast<size_t>(nk.neighbours_size()) != expected.size()) {
    return InvalidArgument("expected keys of " + std::to_string(expected.size()) + " neighbours, got " +
                           std::to_string(nk.neighbours_size()));
  }
  std::set<std::string> names = {c.identity->name};
  for (const wire::SignedKeys& k : nk.neighbours()) {
    const uint32_t v = k.worker_id();
    const std::string who = "worker " + std::to_string(v);
    if (!std::binary_search(expected.begin(), expected.end(), v)) {
      return InvalidArgument(who + " is not a neighbour of this worker in this round's graph");
    }
    if (ctx.neighbours.count(v)) return InvalidArgument("keys of " + who + " appear twice");
    if (k.enc_public_key().size() != crypto::kKeyBytes || k.mask_public_key().size() != crypto::kKeyBytes) {
      return InvalidArgument(who + " advertised keys of the wrong size");
    }
    const crypto::PublicKey* signer = c.roster->Find(k.name());
    if (!signer) return PermissionDenied(who + " claims the name '" + k.name().substr(0, 64) + "', not in the roster");
    if (auto pinned = c.required_names.find(v); pinned != c.required_names.end() && pinned->second != k.name()) {
      return PermissionDenied(who + " was " + pinned->second + " in the earlier round this one must match, now '" +
                              k.name().substr(0, 64) + "'");
    }
    if (!names.insert(k.name()).second) {
      return PermissionDenied("the name " + k.name() + " appears twice in this neighbourhood");
    }
    if (!crypto::Verify(*signer, AdvertiseTranscript(c.round, v, k.name(), k.enc_public_key(), k.mask_public_key()),
                        k.signature())) {
      return PermissionDenied("signature of " + who + " (" + k.name() +
                              ") does not verify for this session and round (forged or replayed keys)");
    }
    ctx.neighbours[v] = PeerInfo{k.name(), ToPublicKey(k.enc_public_key()), ToPublicKey(k.mask_public_key())};
  }

  // Shares of b_u and of the mask secret, one pair per neighbour (encrypted to it) and
  // one kept by this worker: as in Bonawitz et al., a survivor reveals its own share of
  // b_u too, so the holders are N(u) and u itself.
  std::vector<uint32_t> holders = expected;
  holders.push_back(self);
  FL_ASSIGN_OR_RETURN(std::vector<Share> seed_shares, Split(ctx.self_seed, ctx.params.t, holders));
  FL_ASSIGN_OR_RETURN(std::vector<Share> key_shares, Split(ctx.mask_keys.secret_key, ctx.params.t, holders));
  ctx.held[self] = HeldShares{seed_shares.back(), key_shares.back()};
  ClientOutput out;
  out.message.emplace();
  wire::ShareKeys* sk = out.message->mutable_share();
  for (size_t i = 0; i < expected.size(); ++i) {
    const uint32_t v = expected[i];
    PeerInfo& peer = ctx.neighbours[v];
    // One agreement per neighbour serves both directions.
    FL_ASSIGN_OR_RETURN(crypto::SecretKey shared, crypto::X25519Agree(ctx.enc_keys.secret_key, peer.enc_public));
    const crypto::SecretKey key = ShareKey(shared, c.round, self, v);
    peer.inbound_share_key = ShareKey(shared, c.round, v, self);
    std::string plain = seed_shares[i].Encode() + key_shares[i].Encode();
    wire::EncryptedShare* e = sk->add_shares();
    e->set_from(self);
    e->set_to(v);
    e->set_ciphertext(crypto::Seal(key, plain, ShareAd(c.round, self, v)));
    std::fill(plain.begin(), plain.end(), '\0');
  }
  *next = std::make_unique<ShareKeysState>();
  return out;
}

}  // namespace fl::secagg
