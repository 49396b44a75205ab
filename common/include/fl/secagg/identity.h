// Long-term identities: each hospital holds an Ed25519 key pair (made by
// `fl-worker keygen`); every participant holds the roster of the federation's public
// keys. Workers verify every peer's signed round keys against the roster, so the
// coordinator cannot insert workers of its own.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "fl/crypto.h"
#include "fl/env.h"
#include "fl/status.h"

namespace fl::secagg {

struct Identity {
  std::string name;
  crypto::SigningKeyPair keys;

  static Identity Generate(const std::string& name);
  // JSON {"name", "public_key": hex, "secret_key": hex}; written with mode 0600.
  static StatusOr<Identity> Load(const std::string& path);
  Status Save(const std::string& path) const;
};

class Roster {
 public:
  // JSON {"members": [{"name": ..., "public_key": hex}, ...]}.
  static StatusOr<Roster> Load(const std::string& path);
  static StatusOr<Roster> Load(Env& env, const std::string& path);
  static StatusOr<Roster> FromJson(const nlohmann::json& j, const std::string& what);
  nlohmann::json ToJson() const;

  Status Add(const std::string& name, const crypto::PublicKey& key);
  const crypto::PublicKey* Find(const std::string& name) const;
  size_t size() const { return members_.size(); }
  const std::map<std::string, crypto::PublicKey>& members() const { return members_; }

 private:
  std::map<std::string, crypto::PublicKey> members_;
};

// Hex helpers.
StatusOr<std::vector<uint8_t>> FromHex(const std::string& hex, size_t expected_bytes, const std::string& what);

}  // namespace fl::secagg
