#include "fl/masking.h"

#include <algorithm>

namespace fl {
namespace {
void AppendU32(std::vector<uint8_t>* b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
}  // namespace

StatusOr<crypto::SecretKey> PairwiseMaskKey(const crypto::SecretKey& own_secret,
                                            const crypto::PublicKey& peer_public,
                                            const MaskContext& ctx, uint32_t self_id,
                                            uint32_t peer_id) {
  if (self_id == peer_id) return InvalidArgument("pairwise mask with oneself");
  FL_ASSIGN_OR_RETURN(crypto::SecretKey shared, crypto::X25519Agree(own_secret, peer_public));
  std::vector<uint8_t> context;
  AppendU32(&context, static_cast<uint32_t>(ctx.session.size()));
  context.insert(context.end(), ctx.session.begin(), ctx.session.end());
  AppendU32(&context, ctx.round);
  AppendU32(&context, std::min(self_id, peer_id));
  AppendU32(&context, std::max(self_id, peer_id));
  return crypto::DeriveKey(shared, "fl/pairwise-mask/v1", context);
}

void ApplyPairwiseMasks(uint32_t self_id, const std::vector<PeerMaskKey>& peers, RingVector* y) {
  for (const PeerMaskKey& p : peers) {
    crypto::AddChaCha20Mask(p.key, self_id < p.peer_id ? +1 : -1, y->data(), y->size());
  }
}

}  // namespace fl
