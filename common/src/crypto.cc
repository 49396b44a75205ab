#include "fl/crypto.h"

#include <sodium.h>

#include <cstring>
#include <mutex>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "payload frames and keystream words assume a little-endian host");

namespace fl::crypto {

SecretKey::~SecretKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

Status Init() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = sodium_init(); });
  if (rc < 0) return Internal("libsodium initialisation failed");
  return Status::Ok();
}

void RandomBytes(void* out, size_t n) { randombytes_buf(out, n); }

void Wipe(void* data, size_t n) { sodium_memzero(data, n); }

SecretKey RandomKey() {
  SecretKey k;
  randombytes_buf(k.data(), k.size());
  return k;
}

X25519KeyPair GenerateX25519() {
  X25519KeyPair kp;
  randombytes_buf(kp.secret_key.data(), kp.secret_key.size());
  crypto_scalarmult_base(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

StatusOr<X25519KeyPair> X25519FromSigningKey(const SigningKeyPair& identity) {
  if (identity.secret_key.size() != crypto_sign_SECRETKEYBYTES) return InvalidArgument("not an Ed25519 secret key");
  X25519KeyPair kp;
  if (crypto_sign_ed25519_sk_to_curve25519(kp.secret_key.data(), identity.secret_key.data()) != 0) {
    return InvalidArgument("the Ed25519 secret key has no X25519 counterpart");
  }
  FL_ASSIGN_OR_RETURN(kp.public_key, X25519FromSigningPublic(identity.public_key));
  return kp;
}

StatusOr<PublicKey> X25519FromSigningPublic(const PublicKey& ed25519_public) {
  PublicKey out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed25519_public.data()) != 0) {
    return InvalidArgument("the Ed25519 public key has no X25519 counterpart (not a valid point)");
  }
  return out;
}

PublicKey X25519Public(const SecretKey& secret) {
  PublicKey pk;
  crypto_scalarmult_base(pk.data(), secret.data());
  return pk;
}

StatusOr<SecretKey> X25519Agree(const SecretKey& own_secret, const PublicKey& peer_public) {
  SecretKey shared;
  if (crypto_scalarmult(shared.data(), own_secret.data(), peer_public.data()) != 0) {
    return InvalidArgument("peer public key is a low-order point");
  }
  return shared;
}

SecretKey DeriveKey(const SecretKey& input_key, std::string_view label,
                    const std::vector<uint8_t>& context) {
  SecretKey out;
  crypto_generichash_state st;
  crypto_generichash_init(&st, input_key.data(), input_key.size(), out.size());
  const uint64_t label_len = label.size();
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(&label_len), sizeof label_len);
  crypto_generichash_update(&st, reinterpret_cast<const uint8_t*>(label.data()), label.size());
  crypto_generichash_update(&st, context.data(), context.size());
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

namespace {
constexpr uint8_t kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
constexpr size_t kChunkWords = 4096;  // 16 KiB: stays in L1/L2 while it is consumed
}  // namespace

void ChaCha20Words(const SecretKey& key, uint64_t first_block, uint32_t* out, size_t n_words) {
  std::memset(out, 0, n_words * sizeof(uint32_t));
  crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(out),
                                     reinterpret_cast<const uint8_t*>(out),
                                     n_words * sizeof(uint32_t), kZeroNonce,
                                     static_cast<uint32_t>(first_block), key.data());
}

void AddChaCha20Mask(const SecretKey& key, int sign, uint32_t* vec, size_t n) {
  AddChaCha20MaskRange(key, sign, vec, n, 0);
}

void AddChaCha20MaskRange(const SecretKey& key, int sign, uint32_t* vec, size_t n, uint64_t first) {
  // The keystream is made one 16 KiB chunk at a time (XOR onto a constant zero block,
  // so no memset per chunk) and added while it is in L1: faster than expanding the
  // whole stream first. bench/secagg_bench.cc compares it with raw ChaCha20.
  alignas(64) static const uint32_t kZeros[kChunkWords] = {0};
  alignas(64) uint32_t buf[kChunkWords];
  uint64_t block = first / 16;
  for (size_t off = 0; off < n; off += kChunkWords) {
    const size_t len = std::min(kChunkWords, n - off);
    crypto_stream_chacha20_ietf_xor_ic(reinterpret_cast<uint8_t*>(buf), reinterpret_cast<const uint8_t*>(kZeros),
                                       len * sizeof(uint32_t), kZeroNonce, static_cast<uint32_t>(block), key.data());
    block += kChunkWords * sizeof(uint32_t) / 64;
    uint32_t* __restrict v = vec + off;
    const uint32_t* __restrict b = buf;
    if (sign > 0) {
      for (size_t i = 0; i < len; ++i) v[i] += b[i];
    } else {
      for (size_t i = 0; i < len; ++i) v[i] -= b[i];
    }
  }
  sodium_memzero(buf, sizeof buf);
}

SigningKeyPair GenerateSigningKey() {
  SigningKeyPair kp;
  kp.secret_key.resize(crypto_sign_SECRETKEYBYTES);
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

void WipeSigningKey(SigningKeyPair* kp) {
  if (!kp->secret_key.empty()) sodium_memzero(kp->secret_key.data(), kp->secret_key.size());
  kp->secret_key.clear();
}

std::string Sign(const SigningKeyPair& kp, const std::string& message) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<uint8_t*>(sig.data()), nullptr,
                       reinterpret_cast<const uint8_t*>(message.data()), message.size(), kp.secret_key.data());
  return sig;
}

bool Verify(const PublicKey& signer, const std::string& message, const std::string& signature) {
  if (signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const uint8_t*>(signature.data()),
                                     reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                                     signer.data()) == 0;
}

namespace {
constexpr uint8_t kZeroXNonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES] = {0};
}

std::string Seal(const SecretKey& key, const std::string& plaintext, const std::string& ad) {
  std::string out(plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<uint8_t*>(out.data()), &len, reinterpret_cast<const uint8_t*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, kZeroXNonce, key.data());
  out.resize(len);
  return out;
}

StatusOr<std::string> Open(const SecretKey& key, const std::string& ciphertext, const std::string& ad) {
  if (ciphertext.size() < crypto_aead_xchacha20poly1305_ietf_ABYTES) return InvalidArgument("ciphertext too short");
  std::string out(ciphertext.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<uint8_t*>(out.data()), &len, nullptr, reinterpret_cast<const uint8_t*>(ciphertext.data()),
          ciphertext.size(), reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), kZeroXNonce, key.data()) != 0) {
    return InvalidArgument("ciphertext does not authenticate");
  }
  out.resize(len);
  return out;
}

bool Equal(const void* a, const void* b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

std::array<uint8_t, 32> Hash(const void* data, size_t n) {
  std::array<uint8_t, 32> h{};
  crypto_generichash(h.data(), h.size(), static_cast<const uint8_t*>(data), n, nullptr, 0);
  return h;
}

std::string ToHex(const uint8_t* data, size_t n) {
  std::string s(2 * n + 1, '\0');
  sodium_bin2hex(s.data(), s.size(), data, n);
  s.pop_back();
  return s;
}

std::string HashHex(const std::string& bytes) {
  const auto h = Hash(bytes.data(), bytes.size());
  return ToHex(h.data(), h.size());
}

bool IsLowerHex(const std::string& s, size_t digits) {
  if (s.size() != digits) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace fl::crypto
