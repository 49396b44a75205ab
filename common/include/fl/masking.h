// Pairwise masking (first version of secure aggregation, honest-but-curious coordinator).
//
// Workers u < v agree on k_uv = KDF(X25519(sk_u, pk_v), session, round, u, v); u adds
// PRG(k_uv) and v subtracts it, so the masks cancel in the cohort sum mod 2^32.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "fl/crypto.h"
#include "fl/ring.h"

namespace fl {

struct MaskContext {
  std::vector<uint8_t> session;  // coordinator's session id
  uint32_t round = 0;
};

StatusOr<crypto::SecretKey> PairwiseMaskKey(const crypto::SecretKey& own_secret,
                                            const crypto::PublicKey& peer_public,
                                            const MaskContext& ctx, uint32_t self_id,
                                            uint32_t peer_id);

struct PeerMaskKey {
  uint32_t peer_id;
  crypto::SecretKey key;
};

// y += sum over peers of sign * PRG(key), sign = +1 when self_id < peer_id, else -1.
void ApplyPairwiseMasks(uint32_t self_id, const std::vector<PeerMaskKey>& peers, RingVector* y);

}  // namespace fl
