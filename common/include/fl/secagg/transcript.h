// The byte strings that are signed, used as associated data, or hashed into seeds. Each
// starts with a label that names its use and version, and every variable-length field
// is length-prefixed, so no two transcripts can collide.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fl/crypto.h"
#include "fl/masking.h"

namespace fl::secagg {

struct RoundId {
  std::string session;  // the coordinator's 16-byte session id
  uint32_t round = 0;   // protocol round id, unique within the session
};

std::string AdvertiseTranscript(const RoundId& r, uint32_t worker_id, const std::string& name,
                                const std::string& enc_pk, const std::string& mask_pk);
std::string ConsistencyTranscript(const RoundId& r, const std::vector<uint32_t>& survivors);
// Associated data of the share ciphertext from `from` to `to`.
std::string ShareAd(const RoundId& r, uint32_t from, uint32_t to);
// Key of the share ciphertext from `from` to `to` (one key per direction), from the
// X25519 secret the two workers' encryption keys agree on.
crypto::SecretKey ShareKey(const crypto::SecretKey& shared, const RoundId& r, uint32_t from, uint32_t to);
// Public seed of the neighbour graph: a hash of the round and the cohort U1.
crypto::SecretKey GraphSeed(const RoundId& r, const std::vector<uint32_t>& cohort);
// Key of the self mask PRG(b_u).
crypto::SecretKey SelfMaskKey(const crypto::SecretKey& seed, const RoundId& r, uint32_t worker_id);
MaskContext ToMaskContext(const RoundId& r);

crypto::PublicKey ToPublicKey(const std::string& bytes);  // caller checks the size

}  // namespace fl::secagg
