#include "fl/transport_key.h"

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"

namespace fl {

Status SaveTransportKey(Env& env, const std::string& path, const crypto::X25519KeyPair& key) {
  nlohmann::json j = {{"public_key", crypto::ToHex(key.public_key.data(), key.public_key.size())},
                      {"secret_key", crypto::ToHex(key.secret_key.data(), crypto::kKeyBytes)}};
  std::string text = j.dump(2) + "\n";
  Status s = env.WriteFileAtomic(path, text, 0600);
  crypto::Wipe(text.data(), text.size());
  return s;
}

StatusOr<crypto::X25519KeyPair> LoadTransportKey(Env& env, const std::string& path) {
  StatusOr<unsigned> mode = env.FileMode(path);
  if (mode.ok() && (*mode & 0077) != 0) {
    return PermissionDenied(path + ": the coordinator's key file must not be readable by group or others (chmod 600)");
  }
  FL_ASSIGN_OR_RETURN(nlohmann::json j, ParseJsonFile(env, path));
  std::string pk_hex, sk_hex;
  ConfigReader r(j, "");
  r.Require("public_key");
  r.Require("secret_key");
  r.Get("public_key", &pk_hex);
  r.Get("secret_key", &sk_hex);
  FL_RETURN_IF_ERROR(r.Finish().WithContext(path));
  crypto::X25519KeyPair key;
  FL_ASSIGN_OR_RETURN(key.public_key, ParsePublicKeyHex(pk_hex, path + ": public_key"));
  FL_ASSIGN_OR_RETURN(std::vector<uint8_t> sk, secagg::FromHex(sk_hex, crypto::kKeyBytes, path + ": secret_key"));
  std::copy(sk.begin(), sk.end(), key.secret_key.data());
  crypto::Wipe(sk.data(), sk.size());
  crypto::Wipe(sk_hex.data(), sk_hex.size());
  if (crypto::X25519Public(key.secret_key) != key.public_key) {
    return InvalidArgument(path + ": the secret key does not belong to the public key");
  }
  return key;
}

StatusOr<crypto::PublicKey> ParsePublicKeyHex(const std::string& hex, const std::string& what) {
  FL_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, secagg::FromHex(hex, crypto::kKeyBytes, what));
  crypto::PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

StatusOr<std::map<crypto::PublicKey, std::string>> TransportAllowList(const secagg::Roster& roster) {
  std::map<crypto::PublicKey, std::string> out;
  for (const auto& [name, identity] : roster.members()) {
    StatusOr<crypto::PublicKey> key = crypto::X25519FromSigningPublic(identity);
    if (!key.ok()) return InvalidArgument("roster member " + name + ": " + key.status().message());
    out[*key] = name;
  }
  return out;
}

}  // namespace fl
