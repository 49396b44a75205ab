#include "fl/secagg/identity.h"

#include <sodium.h>

#include "fl/config_reader.h"
#include "fl/env.h"
#include "fl/names.h"

namespace fl::secagg {

StatusOr<std::vector<uint8_t>> FromHex(const std::string& hex, size_t expected_bytes, const std::string& what) {
  std::vector<uint8_t> out(expected_bytes);
  size_t len = 0;
  if (hex.size() != 2 * expected_bytes ||
      sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != expected_bytes) {
    return InvalidArgument(what + ": expected " + std::to_string(2 * expected_bytes) + " hex digits");
  }
  return out;
}

Identity Identity::Generate(const std::string& name) { return Identity{name, crypto::GenerateSigningKey()}; }

StatusOr<Identity> Identity::Load(const std::string& path) {
  StatusOr<unsigned> mode = Env::Default().FileMode(path);
  if (mode.ok() && (*mode & 0077) != 0) {
    return PermissionDenied(path + ": identity key file must not be readable by group or others (chmod 600)");
  }
  FL_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(path));
  std::string name, pk_hex, sk_hex;
  ConfigReader r(j, "");
  r.Require("name");
  r.Require("public_key");
  r.Require("secret_key");
  r.Get("name", &name);
  r.Get("public_key", &pk_hex);
  r.Get("secret_key", &sk_hex);
  FL_RETURN_IF_ERROR(r.Finish().WithContext(path));
  Identity id;
  id.name = name;
  FL_ASSIGN_OR_RETURN(std::vector<uint8_t> pk, FromHex(pk_hex, crypto::kKeyBytes, path + ": public_key"));
  FL_ASSIGN_OR_RETURN(id.keys.secret_key, FromHex(sk_hex, crypto::kSigningSecretBytes, path + ": secret_key"));
  std::copy(pk.begin(), pk.end(), id.keys.public_key.begin());
  // Re-derive the whole key pair from the secret seed: both halves must match.
  uint8_t seed[crypto_sign_SEEDBYTES], pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
  crypto_sign_ed25519_sk_to_seed(seed, id.keys.secret_key.data());
  crypto_sign_seed_keypair(pk2, sk2, seed);
  const bool match = crypto::Equal(pk2, id.keys.public_key.data(), 32) &&
                     crypto::Equal(sk2, id.keys.secret_key.data(), crypto_sign_SECRETKEYBYTES);
  sodium_memzero(seed, sizeof seed);
  sodium_memzero(sk2, sizeof sk2);
  if (!match) return InvalidArgument(path + ": public_key does not match secret_key");
  sodium_memzero(sk_hex.data(), sk_hex.size());
  return id;
}

Status Identity::Save(const std::string& path) const {
  nlohmann::json j = {{"name", name},
                      {"public_key", crypto::ToHex(keys.public_key.data(), keys.public_key.size())},
                      {"secret_key", crypto::ToHex(keys.secret_key.data(), keys.secret_key.size())}};
  std::string text = j.dump(2) + "\n";
  Status s = Env::Default().WriteFileAtomic(path, text, 0600);
  sodium_memzero(text.data(), text.size());
  return s;
}

StatusOr<Roster> Roster::FromJson(const nlohmann::json& j, const std::string& what) {
  Roster roster;
  if (!j.is_object() || !j.contains("members") || !j["members"].is_array()) {
    return InvalidArgument(what + ": expected {\"members\": [{\"name\", \"public_key\"}, ...]}");
  }
  for (size_t i = 0; i < j["members"].size(); ++i) {
    const auto& m = j["members"][i];
    const std::string where = what + ": members[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("name") || !m["name"].is_string() || !m.contains("public_key") ||
        !m["public_key"].is_string() || m.size() != 2) {
      return InvalidArgument(where + ": expected {\"name\": string, \"public_key\": hex}");
    }
    FL_ASSIGN_OR_RETURN(std::vector<uint8_t> pk, FromHex(m["public_key"].get<std::string>(), crypto::kKeyBytes, where));
    crypto::PublicKey key;
    std::copy(pk.begin(), pk.end(), key.begin());
    FL_RETURN_IF_ERROR(roster.Add(m["name"].get<std::string>(), key).WithContext(where));
  }
  return roster;
}

StatusOr<Roster> Roster::Load(Env& env, const std::string& path) {
  FL_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(env, path));
  return FromJson(j, path);
}

StatusOr<Roster> Roster::Load(const std::string& path) { return Load(Env::Default(), path); }

nlohmann::json Roster::ToJson() const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& [name, key] : members_) {
    members.push_back({{"name", name}, {"public_key", crypto::ToHex(key.data(), key.size())}});
  }
  return {{"members", members}};
}

Status Roster::Add(const std::string& name, const crypto::PublicKey& key) {
  FL_RETURN_IF_ERROR(CheckName(name, "a roster name"));
  if (members_.count(name)) return InvalidArgument("duplicate roster name " + name);
  for (const auto& [n, k] : members_) {
    if (k == key) return InvalidArgument("the same public key is listed for " + n + " and " + name);
  }
  members_[name] = key;
  return Status::Ok();
}

const crypto::PublicKey* Roster::Find(const std::string& name) const {
  auto it = members_.find(name);
  return it == members_.end() ? nullptr : &it->second;
}

}  // namespace fl::secagg
