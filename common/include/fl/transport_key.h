// The coordinator's long-term transport key (CURVE: an X25519 key pair), made once with
// `fl-coordinator keygen` and kept in a file of mode 600; workers pin its public half in
// their configs. A hospital's transport key is derived from its Ed25519 identity
// (crypto::X25519FromSigningKey), so it needs no file of its own.
#pragma once

#include <map>
#include <string>

#include "fl/crypto.h"
#include "fl/env.h"
#include "fl/secagg/identity.h"
#include "fl/status.h"

namespace fl {

// JSON {"public_key": hex, "secret_key": hex}, written with mode 0600.
Status SaveTransportKey(Env& env, const std::string& path, const crypto::X25519KeyPair& key);
// Refuses a file that group or others may read, and a secret that does not match its public key.
StatusOr<crypto::X25519KeyPair> LoadTransportKey(Env& env, const std::string& path);
// A public key as written in configs: 64 hex digits.
StatusOr<crypto::PublicKey> ParsePublicKeyHex(const std::string& hex, const std::string& what);
// The transport allow-list of a roster: each member's transport key -> its name.
StatusOr<std::map<crypto::PublicKey, std::string>> TransportAllowList(const secagg::Roster& roster);

}  // namespace fl
