#include "fl/secagg/transcript.h"

#include <cstring>

namespace fl::secagg {
namespace {
void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutBytes(std::string* s, const std::string& b) {
  PutU32(s, static_cast<uint32_t>(b.size()));
  s->append(b);
}
std::string Head(const char* label, const RoundId& r) {
  std::string s;
  PutBytes(&s, label);
  PutBytes(&s, r.session);
  PutU32(&s, r.round);
  return s;
}
std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }
}  // namespace

std::string AdvertiseTranscript(const RoundId& r, uint32_t worker_id, const std::string& name,
                                const std::string& enc_pk, const std::string& mask_pk) {
  std::string s = Head("fl/secagg/advertise/v1", r);
  PutU32(&s, worker_id);
  PutBytes(&s, name);
  PutBytes(&s, enc_pk);
  PutBytes(&s, mask_pk);
  return s;
}

std::string ConsistencyTranscript(const RoundId& r, const std::vector<uint32_t>& survivors) {
  std::string ids;
  for (uint32_t id : survivors) PutU32(&ids, id);
  const auto digest = crypto::Hash(ids.data(), ids.size());
  std::string s = Head("fl/secagg/consistency/v1", r);
  PutU32(&s, static_cast<uint32_t>(survivors.size()));
  s.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  return s;
}

std::string ShareAd(const RoundId& r, uint32_t from, uint32_t to) {
  std::string s = Head("fl/secagg/share/v1", r);
  PutU32(&s, from);
  PutU32(&s, to);
  return s;
}

crypto::SecretKey ShareKey(const crypto::SecretKey& shared, const RoundId& r, uint32_t from, uint32_t to) {
  return crypto::DeriveKey(shared, "fl/secagg/share-key/v1", Bytes(ShareAd(r, from, to)));
}

crypto::SecretKey GraphSeed(const RoundId& r, const std::vector<uint32_t>& cohort) {
  std::string s = Head("fl/secagg/graph/v1", r);
  for (uint32_t id : cohort) PutU32(&s, id);
  const auto h = crypto::Hash(s.data(), s.size());
  crypto::SecretKey k;
  std::memcpy(k.data(), h.data(), h.size());
  return k;
}

crypto::SecretKey SelfMaskKey(const crypto::SecretKey& seed, const RoundId& r, uint32_t worker_id) {
  std::string ctx = Head("fl/secagg/self-mask/v1", r);
  PutU32(&ctx, worker_id);
  return crypto::DeriveKey(seed, "fl/secagg/self-mask/v1", Bytes(ctx));
}

MaskContext ToMaskContext(const RoundId& r) {
  return MaskContext{std::vector<uint8_t>(r.session.begin(), r.session.end()), r.round};
}

crypto::PublicKey ToPublicKey(const std::string& bytes) {
  crypto::PublicKey k{};
  std::memcpy(k.data(), bytes.data(), std::min(bytes.size(), k.size()));
  return k;
}

}  // namespace fl::secagg
