// Thin wrappers over libsodium 1.0.18. Every random or cryptographic operation of the
// project goes through here.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fl/status.h"

namespace fl::crypto {

constexpr size_t kKeyBytes = 32;
using PublicKey = std::array<uint8_t, kKeyBytes>;

// A 32-byte secret that is wiped (sodium_memzero) when destroyed.
class SecretKey {
 public:
  SecretKey() { bytes_.fill(0); }
  ~SecretKey();
  SecretKey(const SecretKey& other) = default;
  SecretKey& operator=(const SecretKey& other) = default;
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return kKeyBytes; }

 private:
  std::array<uint8_t, kKeyBytes> bytes_;
};

// Must be called once before any other function here (idempotent, thread-safe).
Status Init();

void RandomBytes(void* out, size_t n);
SecretKey RandomKey();

struct X25519KeyPair {
  PublicKey public_key;
  SecretKey secret_key;
};
X25519KeyPair GenerateX25519();
// The public key of an X25519 secret key.
PublicKey X25519Public(const SecretKey& secret);

// Raw X25519 agreement. Fails for low-order peer keys (all-zero shared point).
StatusOr<SecretKey> X25519Agree(const SecretKey& own_secret, const PublicKey& peer_public);

// Keyed BLAKE2b: key = H_key(label || context), 32 bytes. Used as the KDF (libsodium
// 1.0.18 has no HKDF); `label` separates uses, `context` binds session, round, ids.
SecretKey DeriveKey(const SecretKey& input_key, std::string_view label,
                    const std::vector<uint8_t>& context);

// Fills `out` with the ChaCha20 (IETF) keystream of `key`, nonce 0, starting at block
// `first_block` (64-byte blocks), as little-endian 32-bit words.
void ChaCha20Words(const SecretKey& key, uint64_t first_block, uint32_t* out, size_t n_words);

// Adds (sign = +1) or subtracts (sign = -1) the keystream of `key` to `vec` mod 2^32.
void AddChaCha20Mask(const SecretKey& key, int sign, uint32_t* vec, size_t n);
// The same for words [first, first + n) of the keystream, added to vec[0, n); `first`
// must be a multiple of 16 (one 64-byte ChaCha20 block). Lets threads split a vector.
void AddChaCha20MaskRange(const SecretKey& key, int sign, uint32_t* vec, size_t n, uint64_t first);

// Long-term identity: Ed25519 (crypto_sign).
constexpr size_t kSignatureBytes = 64;
constexpr size_t kSigningSecretBytes = 64;
struct SigningKeyPair {
  PublicKey public_key;
  std::vector<uint8_t> secret_key;  // 64 bytes; wiped by WipeSigningKey
};
SigningKeyPair GenerateSigningKey();
void WipeSigningKey(SigningKeyPair* kp);
std::string Sign(const SigningKeyPair& kp, const std::string& message);  // 64-byte detached signature
bool Verify(const PublicKey& signer, const std::string& message, const std::string& signature);

// The X25519 key pair of an Ed25519 identity (libsodium's ed25519-to-curve25519
// conversion): a hospital's transport (CURVE) key is derived from the identity the roster
// lists, so the roster is also the transport's allow-list.
StatusOr<X25519KeyPair> X25519FromSigningKey(const SigningKeyPair& identity);
StatusOr<PublicKey> X25519FromSigningPublic(const PublicKey& ed25519_public);

// Authenticated encryption (XChaCha20-Poly1305-IETF) with a key used for exactly one
// message, so a zero nonce is safe. `ad` is authenticated, not encrypted.
std::string Seal(const SecretKey& one_time_key, const std::string& plaintext, const std::string& ad);
StatusOr<std::string> Open(const SecretKey& one_time_key, const std::string& ciphertext, const std::string& ad);
constexpr size_t kSealOverhead = 16;

// Zeroes memory that held a secret (sodium_memzero: not optimised away).
void Wipe(void* data, size_t n);

// Constant-time comparison.
bool Equal(const void* a, const void* b, size_t n);

// Generic hash of bytes (BLAKE2b-256), e.g. for fingerprints.
std::array<uint8_t, 32> Hash(const void* data, size_t n);

std::string ToHex(const uint8_t* data, size_t n);
// ToHex(Hash(bytes)): 64 lower-case hex digits, how files are named by their contents.
std::string HashHex(const std::string& bytes);
// Whether `s` is exactly `digits` lower-case hex digits (as ToHex writes them).
bool IsLowerHex(const std::string& s, size_t digits);

}  // namespace fl::crypto
