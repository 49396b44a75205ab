// Tests for long-term identities and the roster (fl/secagg/identity.h), the signing and
// sealing helpers of fl/crypto.h they are used with, and the signed/hashed transcripts
// of fl/secagg/transcript.h.
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/crypto.h"
#include "fl/secagg/identity.h"
#include "fl/secagg/transcript.h"

using Catch::Matchers::Contains;
using fl::StatusCode;
using fl::secagg::AdvertiseTranscript;
using fl::secagg::ConsistencyTranscript;
using fl::secagg::GraphSeed;
using fl::secagg::Identity;
using fl::secagg::Roster;
using fl::secagg::RoundId;
using fl::secagg::SelfMaskKey;
using fl::secagg::ShareAd;
using fl::secagg::ShareKey;
namespace crypto = fl::crypto;
namespace fs = std::filesystem;
using json = nlohmann::json;


namespace {

class TempDir : public fl::testing::TempDir {
 public:
  TempDir() : fl::testing::TempDir("fl-identity-test-") {}
};

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode & 0777);
}

void WriteText(const std::string& path, const std::string& text, mode_t mode = 0600) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    REQUIRE(out.good());
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string PkHex(const crypto::PublicKey& pk) { return crypto::ToHex(pk.data(), pk.size()); }
std::string SkHex(const std::vector<uint8_t>& sk) { return crypto::ToHex(sk.data(), sk.size()); }

json IdentityJson(const Identity& id) {
  return {{"name", id.name}, {"public_key", PkHex(id.keys.public_key)}, {"secret_key", SkHex(id.keys.secret_key)}};
}

crypto::PublicKey RandomPk() {
  crypto::PublicKey pk;
  crypto::RandomBytes(pk.data(), pk.size());
  return pk;
}

bool SameKey(const crypto::SecretKey& a, const crypto::SecretKey& b) {
  return std::memcmp(a.data(), b.data(), crypto::kKeyBytes) == 0;
}

RoundId Rid(uint32_t round, char fill = 's') { return RoundId{std::string(16, fill), round}; }

}  // namespace

// ----------------------------------- Identity -------------------------------------------

TEST_CASE("identity: Generate/Save/Load round trip with mode 0600", "[identity]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  const Identity id = Identity::Generate("hospital-a");
  CHECK(id.name == "hospital-a");
  REQUIRE(id.keys.secret_key.size() == crypto::kSigningSecretBytes);
  // The Ed25519 secret key embeds the public key in its second half.
  CHECK(std::memcmp(id.keys.secret_key.data() + 32, id.keys.public_key.data(), 32) == 0);
  CHECK(Identity::Generate("hospital-a").keys.public_key != id.keys.public_key);

  const std::string path = dir.File("identity.json");
  const fl::Status saved = id.Save(path);
  INFO(saved.ToString());
  REQUIRE(saved.ok());
  CHECK(ModeOf(path) == 0600);

  auto loaded = Identity::Load(path);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  CHECK(loaded->name == id.name);
  CHECK(loaded->keys.public_key == id.keys.public_key);
  CHECK(loaded->keys.secret_key == id.keys.secret_key);

  // Saving again over an existing file keeps it private and replaces it.
  const Identity other = Identity::Generate("hospital-b");
  REQUIRE(other.Save(path).ok());
  CHECK(ModeOf(path) == 0600);
  auto reloaded = Identity::Load(path);
  REQUIRE(reloaded.ok());
  CHECK(reloaded->name == "hospital-b");
  CHECK(reloaded->keys.public_key == other.keys.public_key);
}

TEST_CASE("identity: Load refuses a key file readable by group or others", "[identity]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  const std::string path = dir.File("identity.json");
  REQUIRE(Identity::Generate("h").Save(path).ok());
  for (mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0660}}) {
    CAPTURE(mode);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto r = Identity::Load(path);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kPermissionDenied);
    CHECK_THAT(r.status().message(), Contains("chmod 600"));
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  CHECK(Identity::Load(path).ok());
}

TEST_CASE("identity: Load rejects malformed key files", "[identity]") {
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  const std::string path = dir.File("identity.json");
  const Identity a = Identity::Generate("a");
  const Identity b = Identity::Generate("b");
  auto expect_invalid = [&](const std::string& text, const std::string& reason) {
    WriteText(path, text);
    auto r = Identity::Load(path);
    INFO(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Contains(reason));
  };
  // Sanity: the hand-written form of a good file loads.
  WriteText(path, IdentityJson(a).dump());
  REQUIRE(Identity::Load(path).ok());

  SECTION("public key of another identity") {
    json j = IdentityJson(a);
    j["public_key"] = PkHex(b.keys.public_key);
    expect_invalid(j.dump(), "does not match");
  }
  SECTION("bad hex") {
    json j = IdentityJson(a);
    std::string bad = PkHex(a.keys.public_key);
    bad[10] = 'z';
    j["public_key"] = bad;
    expect_invalid(j.dump(), "public_key");
    j = IdentityJson(a);
    j["public_key"] = PkHex(a.keys.public_key).substr(2);  // 62 digits
    expect_invalid(j.dump(), "public_key");
    j = IdentityJson(a);
    std::string sk = SkHex(a.keys.secret_key);
    sk[0] = 'g';
    j["secret_key"] = sk;
    expect_invalid(j.dump(), "secret_key");
    j = IdentityJson(a);
    j["secret_key"] = SkHex(a.keys.secret_key) + "00";
    expect_invalid(j.dump(), "secret_key");
  }
  SECTION("missing, unknown or mistyped fields") {
    for (const char* field : {"name", "public_key", "secret_key"}) {
      json j = IdentityJson(a);
      j.erase(field);
      expect_invalid(j.dump(), field);
    }
    json j = IdentityJson(a);
    j["extra"] = 1;
    expect_invalid(j.dump(), "extra");
    j = IdentityJson(a);
    j["name"] = 5;
    expect_invalid(j.dump(), "name");
    expect_invalid("[1, 2]", "");
    expect_invalid("{not json", "");
  }
  SECTION("missing file") {
    auto r = Identity::Load(dir.File("absent.json"));
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("identity: Load checks the whole secret key against the public key", "[identity]") {
  // identity.cc only compares the public key embedded in the second half of the
  // secret key; the seed (first half) is not checked. A file whose seed belongs to
  // another key loads, and every signature it then makes fails to verify.
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  const std::string path = dir.File("identity.json");
  const Identity a = Identity::Generate("a");
  const Identity b = Identity::Generate("b");
  std::vector<uint8_t> spliced(b.keys.secret_key.begin(), b.keys.secret_key.begin() + 32);
  spliced.insert(spliced.end(), a.keys.public_key.begin(), a.keys.public_key.end());
  json j = IdentityJson(a);
  j["secret_key"] = SkHex(spliced);
  WriteText(path, j.dump());
  auto r = Identity::Load(path);
  const bool signs_verifiably =
      r.ok() && crypto::Verify(r->keys.public_key, "message", crypto::Sign(r->keys, "message"));
  INFO("loaded: " << r.ok() << "; its signatures verify under its public key: " << signs_verifiably);
  CHECK_FALSE(r.ok());
}

TEST_CASE("identity: Save never exposes the secret key to group or others", "[identity]") {
  // AtomicWriteFile gives the temporary file its final mode before the rename, so the
  // key never exists with a wider mode at any path.
  REQUIRE(crypto::Init().ok());
  TempDir dir;
  const std::string path = dir.File("identity.json");
  REQUIRE(Identity::Generate("h").Save(path).ok());
  CHECK(ModeOf(path) == 0600);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);  // no temporary file left behind
}

// ------------------------------------ Roster --------------------------------------------

TEST_CASE("identity: Roster FromJson/ToJson round trip and Find", "[identity]") {
  REQUIRE(crypto::Init().ok());
  const Identity a = Identity::Generate("alpha"), b = Identity::Generate("beta"), c = Identity::Generate("gamma");
  const json j = {{"members",
                   {{{"name", "gamma"}, {"public_key", PkHex(c.keys.public_key)}},
                    {{"name", "alpha"}, {"public_key", PkHex(a.keys.public_key)}},
                    {{"name", "beta"}, {"public_key", PkHex(b.keys.public_key)}}}}};
  auto r = Roster::FromJson(j, "roster.json");
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  CHECK(r->size() == 3);
  REQUIRE(r->Find("alpha") != nullptr);
  CHECK(*r->Find("alpha") == a.keys.public_key);
  CHECK(*r->Find("beta") == b.keys.public_key);
  CHECK(*r->Find("gamma") == c.keys.public_key);
  CHECK(r->Find("delta") == nullptr);
  CHECK(r->Find("") == nullptr);
  CHECK(r->Find("Alpha") == nullptr);

  const json out = r->ToJson();
  REQUIRE(out["members"].size() == 3);
  auto again = Roster::FromJson(out, "out");
  REQUIRE(again.ok());
  CHECK(again->size() == 3);
  for (const char* name : {"alpha", "beta", "gamma"}) {
    REQUIRE(again->Find(name) != nullptr);
    CHECK(*again->Find(name) == *r->Find(name));
  }
  CHECK(again->ToJson() == out);

  // Empty roster.
  auto empty = Roster::FromJson({{"members", json::array()}}, "e");
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);

  // Load from a file.
  TempDir dir;
  const std::string path = dir.File("roster.json");
  WriteText(path, out.dump(2), 0644);
  auto loaded = Roster::Load(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->ToJson() == out);
  CHECK_FALSE(Roster::Load(dir.File("absent.json")).ok());
}

TEST_CASE("identity: Roster rejects duplicates and malformed members", "[identity]") {
  REQUIRE(crypto::Init().ok());
  const crypto::PublicKey k1 = RandomPk(), k2 = RandomPk(), k3 = RandomPk();
  auto member = [](const std::string& name, const crypto::PublicKey& k) {
    return json{{"name", name}, {"public_key", PkHex(k)}};
  };
  auto expect_invalid = [](const json& j, const std::vector<std::string>& reasons) {
    auto r = Roster::FromJson(j, "roster.json");
    INFO(j.dump());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(r.status().message(), Contains("roster.json"));
    for (const auto& reason : reasons) CHECK_THAT(r.status().message(), Contains(reason));
  };
  SECTION("duplicate name") {
    expect_invalid({{"members", {member("a", k1), member("b", k2), member("a", k3)}}},
                   {"members[2]", "duplicate roster name a"});
  }
  SECTION("duplicate key") {
    expect_invalid({{"members", {member("a", k1), member("b", k1)}}}, {"members[1]", "same public key"});
  }
  SECTION("extra field") {
    json m = member("c", k3);
    m["role"] = "admin";
    expect_invalid({{"members", {member("a", k1), member("b", k2), m}}}, {"members[2]"});
  }
  SECTION("wrong types") {
    expect_invalid({{"members", {member("a", k1), {{"name", 7}, {"public_key", PkHex(k2)}}}}}, {"members[1]"});
    expect_invalid({{"members", {{{"name", "a"}, {"public_key", 7}}}}}, {"members[0]"});
    expect_invalid({{"members", {member("a", k1), "b"}}}, {"members[1]"});
  }
  SECTION("missing field") {
    expect_invalid({{"members", {member("a", k1), {{"name", "b"}}}}}, {"members[1]"});
    expect_invalid({{"members", {{{"public_key", PkHex(k1)}}}}}, {"members[0]"});
  }
  SECTION("bad key hex") {
    expect_invalid({{"members", {member("a", k1), {{"name", "b"}, {"public_key", "abcd"}}}}}, {"members[1]", "hex"});
    std::string bad = PkHex(k2);
    bad[63] = 'x';
    expect_invalid({{"members", {{{"name", "b"}, {"public_key", bad}}}}}, {"members[0]", "hex"});
  }
  SECTION("bad names") {
    expect_invalid({{"members", {member("", k1)}}}, {"members[0]"});
    expect_invalid({{"members", {member("a", k1), member(std::string(65, 'n'), k2)}}}, {"members[1]"});
    auto ok = Roster::FromJson({{"members", {member(std::string(64, 'n'), k2)}}}, "r");
    CHECK(ok.ok());
  }
  SECTION("wrong shape") {
    expect_invalid(json::array(), {});
    expect_invalid(json::object(), {});
    expect_invalid({{"members", "a"}}, {});
    expect_invalid({{"members", json::array({json{{"a", 1}}})}}, {"members[0]"});
    expect_invalid({{"members", json::array({json::array()})}}, {"members[0]"});
  }
  SECTION("Add") {
    Roster r;
    CHECK(r.Add("a", k1).ok());
    CHECK(r.Add("a", k2).code() == StatusCode::kInvalidArgument);
    CHECK(r.Add("b", k1).code() == StatusCode::kInvalidArgument);
    CHECK(r.Add("b", k2).ok());
    CHECK(r.size() == 2);
  }
}

// ----------------------------- Sign/Verify, Seal/Open -----------------------------------

TEST_CASE("identity: Sign/Verify with an identity", "[identity]") {
  REQUIRE(crypto::Init().ok());
  const Identity id = Identity::Generate("signer");
  const Identity other = Identity::Generate("other");
  const std::string msg = AdvertiseTranscript(Rid(3), 17, "signer", std::string(32, 'e'), std::string(32, 'm'));
  const std::string sig = crypto::Sign(id.keys, msg);
  REQUIRE(sig.size() == crypto::kSignatureBytes);
  CHECK(crypto::Verify(id.keys.public_key, msg, sig));
  CHECK(crypto::Verify(id.keys.public_key, "", crypto::Sign(id.keys, "")));

  CHECK_FALSE(crypto::Verify(other.keys.public_key, msg, sig));
  for (size_t i : {size_t{0}, msg.size() / 2, msg.size() - 1}) {
    std::string m = msg;
    m[i] ^= 0x01;
    CHECK_FALSE(crypto::Verify(id.keys.public_key, m, sig));
  }
  CHECK_FALSE(crypto::Verify(id.keys.public_key, msg + "x", sig));
  CHECK_FALSE(crypto::Verify(id.keys.public_key, msg.substr(1), sig));
  for (size_t i = 0; i < sig.size(); i += 7) {
    std::string s = sig;
    s[i] ^= 0x40;
    CHECK_FALSE(crypto::Verify(id.keys.public_key, msg, s));
  }
  CHECK_FALSE(crypto::Verify(id.keys.public_key, msg, sig.substr(0, 63)));
  CHECK_FALSE(crypto::Verify(id.keys.public_key, msg, sig + '\0'));
  CHECK_FALSE(crypto::Verify(id.keys.public_key, msg, std::string(64, '\0')));
}

TEST_CASE("identity: Seal/Open authenticate the ciphertext and the associated data", "[identity]") {
  REQUIRE(crypto::Init().ok());
  const crypto::SecretKey key = crypto::RandomKey();
  const std::string ad = ShareAd(Rid(9), 17, 900);
  const std::string plain = std::string("share bytes \0 with a zero", 25) + std::string(40, 'y');
  const std::string ct = crypto::Seal(key, plain, ad);
  REQUIRE(ct.size() == plain.size() + crypto::kSealOverhead);
  CHECK(ct.find("share bytes") == std::string::npos);
  auto opened = crypto::Open(key, ct, ad);
  REQUIRE(opened.ok());
  CHECK(*opened == plain);
  auto empty = crypto::Open(key, crypto::Seal(key, "", ad), ad);
  REQUIRE(empty.ok());
  CHECK(empty->empty());

  CHECK_FALSE(crypto::Open(crypto::RandomKey(), ct, ad).ok());
  CHECK_FALSE(crypto::Open(key, ct, ShareAd(Rid(9), 900, 17)).ok());  // reversed direction
  CHECK_FALSE(crypto::Open(key, ct, ShareAd(Rid(10), 17, 900)).ok());
  CHECK_FALSE(crypto::Open(key, ct, "").ok());
  std::string ad2 = ad;
  ad2.back() ^= 1;
  CHECK_FALSE(crypto::Open(key, ct, ad2).ok());
  for (size_t i = 0; i < ct.size(); ++i) {
    std::string c = ct;
    c[i] ^= 0x80;
    auto r = crypto::Open(key, c, ad);
    if (r.ok()) FAIL("flipping ciphertext byte " << i << " went unnoticed");
  }
  CHECK_FALSE(crypto::Open(key, ct.substr(0, ct.size() - 1), ad).ok());
  CHECK_FALSE(crypto::Open(key, ct + "x", ad).ok());
  auto short_ct = crypto::Open(key, std::string(crypto::kSealOverhead - 1, 'c'), ad);
  REQUIRE_FALSE(short_ct.ok());
  CHECK(short_ct.status().code() == StatusCode::kInvalidArgument);
}

// ---------------------------------- Transcripts -----------------------------------------

TEST_CASE("identity: AdvertiseTranscript binds every field", "[identity][transcript]") {
  const std::string enc(32, 'e'), mask(32, 'm');
  const RoundId r = Rid(5);
  const std::string base = AdvertiseTranscript(r, 17, "hospital", enc, mask);
  CHECK(base == AdvertiseTranscript(Rid(5), 17, "hospital", enc, mask));  // deterministic

  std::string enc2 = enc, mask2 = mask;
  enc2[31] ^= 1;
  mask2[0] ^= 1;
  const std::vector<std::string> variants = {
      base,
      AdvertiseTranscript(Rid(6), 17, "hospital", enc, mask),        // round
      AdvertiseTranscript(Rid(5, 't'), 17, "hospital", enc, mask),   // session
      AdvertiseTranscript(r, 18, "hospital", enc, mask),             // worker id
      AdvertiseTranscript(r, 17, "hospitaL", enc, mask),             // name
      AdvertiseTranscript(r, 17, "hospital", enc2, mask),            // encryption key
      AdvertiseTranscript(r, 17, "hospital", enc, mask2),            // masking key
      AdvertiseTranscript(r, 17, "hospital", mask, enc),             // keys swapped
  };
  CHECK(std::set<std::string>(variants.begin(), variants.end()).size() == variants.size());
  // The variable-length fields are present verbatim and length-prefixed (4 bytes LE).
  const std::string prefixed_name = std::string("\x08\x00\x00\x00", 4) + "hospital";
  CHECK(base.find(prefixed_name) != std::string::npos);
  CHECK(base.size() > enc.size() + mask.size() + 8);
  CHECK(base.substr(base.size() - 32) == mask);
}

TEST_CASE("identity: AdvertiseTranscript is unambiguous across field boundaries", "[identity][transcript]") {
  const RoundId r = Rid(1);
  // The same concatenated bytes split differently between name, enc_pk and mask_pk.
  const std::vector<std::string> splits = {
      AdvertiseTranscript(r, 1, "ab", "cd", "ef"), AdvertiseTranscript(r, 1, "a", "bcd", "ef"),
      AdvertiseTranscript(r, 1, "abc", "d", "ef"), AdvertiseTranscript(r, 1, "abcd", "", "ef"),
      AdvertiseTranscript(r, 1, "", "abcd", "ef"), AdvertiseTranscript(r, 1, "ab", "cde", "f"),
      AdvertiseTranscript(r, 1, "ab", "", "cdef"), AdvertiseTranscript(r, 1, "abcdef", "", ""),
  };
  CHECK(std::set<std::string>(splits.begin(), splits.end()).size() == splits.size());
  // The session is length-prefixed too: moving bytes between session and name differs.
  CHECK(AdvertiseTranscript(RoundId{"sessionX", 1}, 1, "name", "k", "m") !=
        AdvertiseTranscript(RoundId{"session", 1}, 1, "Xname", "k", "m"));
  // Transcripts of different kinds never coincide (distinct labels).
  CHECK(AdvertiseTranscript(r, 1, "", "", "").substr(0, 26) != ConsistencyTranscript(r, {}).substr(0, 26));
  CHECK(AdvertiseTranscript(r, 1, "", "", "").substr(0, 20) != ShareAd(r, 1, 2).substr(0, 20));
}

TEST_CASE("identity: ConsistencyTranscript depends on the survivor list", "[identity][transcript]") {
  const RoundId r = Rid(2);
  const std::vector<std::vector<uint32_t>> lists = {
      {}, {1}, {1, 2, 3}, {3, 2, 1}, {1, 2, 4}, {1, 2}, {1, 2, 3, 3}, {0x01000000}, {1, 0}, {256},
  };
  std::set<std::string> seen;
  for (const auto& l : lists) seen.insert(ConsistencyTranscript(r, l));
  CHECK(seen.size() == lists.size());
  CHECK(ConsistencyTranscript(r, {1, 2, 3}) == ConsistencyTranscript(Rid(2), {1, 2, 3}));
  CHECK(ConsistencyTranscript(r, {1, 2, 3}) != ConsistencyTranscript(Rid(3), {1, 2, 3}));
  CHECK(ConsistencyTranscript(r, {1, 2, 3}) != ConsistencyTranscript(Rid(2, 'x'), {1, 2, 3}));
  // A long list still yields a fixed-size transcript (it carries a hash of the ids).
  std::vector<uint32_t> many(1000);
  for (uint32_t i = 0; i < many.size(); ++i) many[i] = i + 1;
  CHECK(ConsistencyTranscript(r, many).size() == ConsistencyTranscript(r, {1}).size());
  std::vector<uint32_t> many2 = many;
  std::swap(many2[10], many2[11]);
  CHECK(ConsistencyTranscript(r, many) != ConsistencyTranscript(r, many2));
}

TEST_CASE("identity: GraphSeed differs by round and cohort", "[identity][transcript]") {
  const std::vector<uint32_t> cohort = {3, 10, 11, 500};
  const crypto::SecretKey s = GraphSeed(Rid(1), cohort);
  CHECK(SameKey(s, GraphSeed(Rid(1), cohort)));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(2), cohort)));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(1, 'x'), cohort)));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(1), {3, 10, 11})));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(1), {3, 10, 11, 501})));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(1), {3, 10, 11, 500, 7})));
  CHECK_FALSE(SameKey(s, GraphSeed(Rid(1), {})));
  CHECK_FALSE(SameKey(s, crypto::SecretKey{}));
}

TEST_CASE("identity: ShareAd, ShareKey and SelfMaskKey bind round and direction", "[identity][transcript]") {
  REQUIRE(crypto::Init().ok());
  const RoundId r = Rid(4);
  CHECK(ShareAd(r, 1, 2) != ShareAd(r, 2, 1));
  CHECK(ShareAd(r, 1, 2) != ShareAd(Rid(5), 1, 2));
  const crypto::X25519KeyPair a = crypto::GenerateX25519(), b = crypto::GenerateX25519();
  auto shared_ab = crypto::X25519Agree(a.secret_key, b.public_key);
  auto shared_ba = crypto::X25519Agree(b.secret_key, a.public_key);
  REQUIRE(shared_ab.ok());
  REQUIRE(shared_ba.ok());
  const crypto::SecretKey ab = ShareKey(*shared_ab, r, 1, 2);
  const crypto::SecretKey ba = ShareKey(*shared_ba, r, 1, 2);
  const crypto::SecretKey rev = ShareKey(*shared_ab, r, 2, 1);
  const crypto::SecretKey other_round = ShareKey(*shared_ab, Rid(5), 1, 2);
  CHECK(SameKey(ab, ba));  // both ends derive the same key
  CHECK_FALSE(SameKey(ab, rev));
  CHECK_FALSE(SameKey(ab, other_round));
  CHECK_FALSE(crypto::X25519Agree(a.secret_key, crypto::PublicKey{}).ok());  // low-order point

  const crypto::SecretKey seed = crypto::RandomKey();
  CHECK(SameKey(SelfMaskKey(seed, r, 7), SelfMaskKey(seed, r, 7)));
  CHECK_FALSE(SameKey(SelfMaskKey(seed, r, 7), SelfMaskKey(seed, r, 8)));
  CHECK_FALSE(SameKey(SelfMaskKey(seed, r, 7), SelfMaskKey(seed, Rid(5), 7)));
}
