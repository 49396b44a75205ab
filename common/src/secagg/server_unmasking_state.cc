// Server round 4: collect the revealed shares; U5 = those that answered. Closing
// rebuilds b_u for every survivor and the mask secret of every worker that dropped after
// sharing keys, and removes the masks from the sum, leaving sum_{u in U3} x_u.
#include <thread>

#include "fl/masking.h"
#include "server_states.h"

namespace fl::secagg {

const std::set<uint32_t>& ServerUnmaskingState::Expected(const ServerContext& ctx) const { return ctx.u4; }

Status ServerUnmaskingState::Receive(ServerContext& ctx, uint32_t from, const wire::SecAggClientMessage& m,
                                     const uint32_t*, size_t) {
  FL_RETURN_IF_ERROR(Admit(ctx, ctx.u4, from, m.step_case(), wire::SecAggClientMessage::kUnmask));
  std::set<uint32_t> owners;
  std::vector<std::pair<uint32_t, Share>> seeds, secrets;
  for (const wire::RevealedShare& r : m.unmask().shares()) {
    const uint32_t v = r.owner();
    if (!ctx.u2.count(v) || !(v == from || ctx.graph.AreNeighbours(from, v)) || !owners.insert(v).second) {
      return InvalidArgument(Who(from) + " revealed a share it cannot hold (" + Who(v) + ")");
    }
    const bool survivor = ctx.u3.count(v) > 0;
    if (survivor != (r.kind() == wire::RevealedShare::SELF_MASK_SEED)) {
      return InvalidArgument(Who(from) + " revealed the wrong kind of share for " + Who(v));
    }
    FL_ASSIGN_OR_RETURN(Share s, Share::Decode(from, r.share()));
    (survivor ? seeds : secrets).push_back({v, s});
  }
  for (auto& [v, s] : seeds) ctx.seed_shares[v].push_back(s);
  for (auto& [v, s] : secrets) ctx.secret_shares[v].push_back(s);
  return Status::Ok();
}

namespace {
struct MaskRemoval {
  crypto::SecretKey key;
  int sign;
};

// Applies every removal to the sum; threads split the vector into ranges of whole
// ChaCha20 blocks, each expanding every key over its own range.
void RemoveMasks(const std::vector<MaskRemoval>& removals, RingVector* sum, int threads) {
  const size_t n = sum->size();
  const size_t parts = static_cast<size_t>(std::max(1, std::min(threads, 64)));
  const size_t per = ((n + parts - 1) / parts + 15) / 16 * 16;
  auto work = [&](size_t p) {
    const size_t begin = p * per;
    if (begin >= n) return;
    const size_t len = std::min(per, n - begin);
    for (const MaskRemoval& r : removals) crypto::AddChaCha20MaskRange(r.key, r.sign, sum->data() + begin, len, begin);
  };
  std::vector<std::thread> pool;
  for (size_t p = 1; p < parts; ++p) pool.emplace_back(work, p);
  work(0);
  for (auto& th : pool) th.join();
}
}  // namespace

StatusOr<std::vector<Outgoing>> ServerUnmaskingState::Close(ServerContext& ctx, std::unique_ptr<ServerState>* next) {
  // The shares come from the workers that answered (U5); each secret needs t of them.
  const uint32_t t = ctx.params.t;
  std::vector<MaskRemoval> removals;
  // Self masks of the survivors.
  for (uint32_t u : ctx.u3) {
    StatusOr<crypto::SecretKey> seed = Reconstruct(ctx.seed_shares[u], t);
    if (!seed.ok()) return Aborted("cannot rebuild the self-mask seed of " + Who(u) + ": " + seed.status().message());
    removals.push_back({SelfMaskKey(*seed, ctx.config.round, u), -1});
  }
  // Pairwise masks between survivors and workers that dropped after sharing keys.
  const MaskContext mc = ToMaskContext(ctx.config.round);
  for (uint32_t v : ctx.u2) {
    if (ctx.u3.count(v)) continue;
    StatusOr<crypto::SecretKey> secret = Reconstruct(ctx.secret_shares[v], t);
    if (!secret.ok()) return Aborted("cannot rebuild the mask secret of " + Who(v) + ": " + secret.status().message());
    // The rebuilt secret must match the public key v signed in round 0.
    const crypto::PublicKey derived = crypto::X25519Public(*secret);
    if (derived != ToPublicKey(ctx.keys[v].mask_public_key())) {
      return Aborted("rebuilt mask secret of " + Who(v) + " does not match its public key (forged shares)");
    }
    for (uint32_t u : ctx.graph.Neighbours(v)) {
      if (!ctx.u3.count(u)) continue;
      FL_ASSIGN_OR_RETURN(crypto::SecretKey k,
                          PairwiseMaskKey(*secret, ToPublicKey(ctx.keys[u].mask_public_key()), mc, v, u));
      // u added sign(u, v) * PRG(k): +1 if u < v. Remove it.
      removals.push_back({k, u < v ? -1 : +1});
    }
  }
  RemoveMasks(removals, &ctx.sum, ctx.config.threads);
  ctx.seed_shares.clear();
  ctx.secret_shares.clear();
  *next = std::make_unique<ServerDoneState>();
  return std::vector<Outgoing>{};
}

}  // namespace fl::secagg
