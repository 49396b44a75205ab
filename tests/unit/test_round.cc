// Tests for one round of masked aggregation at the coordinator (coordinator/round.h).
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "fl.pb.h"
#include "fl/ring.h"
#include "fl/wire.h"
#include "round.h"

using Catch::Matchers::Contains;
using fl::RingVector;
using fl::StatusCode;
using fl::coordinator::Phase;
using fl::coordinator::Round;
namespace wire = fl::wire;

namespace {

using Ids = std::vector<uint32_t>;

wire::AdvertiseKey Key(uint8_t fill, size_t n = 32) {
  wire::AdvertiseKey k;
  k.set_public_key(std::string(n, static_cast<char>(fill)));
  return k;
}

RingVector RandomRing(size_t d, uint32_t seed) {
  std::mt19937 rng(seed);
  RingVector v(d);
  for (size_t i = 0; i < d; ++i) v[i] = rng();
  return v;
}

// Brings a round with cohort {2, 5, 9} to the masked-input phase.
void AdvanceToMaskedInput(Round* r) {
  for (uint32_t w : r->cohort()) REQUIRE(r->OnAdvertiseKey(w, Key(static_cast<uint8_t>(w))).ok());
  REQUIRE(r->CloseKeys().ok());
  REQUIRE(r->phase() == Phase::kMaskedInput);
}

}  // namespace

TEST_CASE("round: cohort is sorted and membership is checked", "[round]") {
  Round r(4, {9, 2, 5}, 11);
  CHECK(r.id() == 4);
  CHECK(r.cohort() == Ids{2, 5, 9});
  CHECK(r.InCohort(5));
  CHECK_FALSE(r.InCohort(3));
  CHECK(r.phase() == Phase::kAdvertiseKeys);
  CHECK(std::string(fl::coordinator::PhaseName(Phase::kAdvertiseKeys)) == "advertise-keys");
  CHECK(std::string(fl::coordinator::PhaseName(Phase::kMaskedInput)) == "masked-input");
  CHECK(std::string(fl::coordinator::PhaseName(Phase::kComplete)) == "complete");
}

TEST_CASE("round: advertise-keys phase rejects bad keys and changes nothing", "[round]") {
  Round r(1, {9, 2, 5}, 11);
  CHECK(r.Pending() == Ids{2, 5, 9});

  fl::Status s = r.OnAdvertiseKey(3, Key(3));
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(s.message(), Contains("worker 3 is not in the cohort"));

  for (size_t n : {0u, 31u, 33u, 64u}) {
    s = r.OnAdvertiseKey(2, Key(2, n));
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains("public key of " + std::to_string(n) + " bytes"));
  }
  CHECK(r.Pending() == Ids{2, 5, 9});  // nothing recorded

  REQUIRE(r.OnAdvertiseKey(2, Key(0xA2)).ok());
  CHECK(r.Pending() == Ids{5, 9});
  s = r.OnAdvertiseKey(2, Key(0xB2));
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(s.message(), Contains("second key from worker 2"));

  // Masked input and CloseKeys are too early.
  CHECK(r.OnMaskedInput(2, fl::RingFrame(RingVector(11))).code() == StatusCode::kFailedPrecondition);
  CHECK_FALSE(r.AllKeysIn());
  auto early = r.CloseKeys();
  CHECK(early.status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.phase() == Phase::kAdvertiseKeys);
  CHECK(r.Pending() == Ids{5, 9});

  // Keys arrive out of order; the list comes back sorted by worker id.
  REQUIRE(r.OnAdvertiseKey(9, Key(0xA9)).ok());
  CHECK(r.Pending() == Ids{5});
  REQUIRE(r.OnAdvertiseKey(5, Key(0xA5)).ok());
  CHECK(r.Pending().empty());
  CHECK(r.AllKeysIn());
  auto list = r.CloseKeys();
  REQUIRE(list.ok());
  CHECK(r.phase() == Phase::kMaskedInput);
  REQUIRE(list->keys_size() == 3);
  const Ids ids = {2, 5, 9};
  const std::vector<uint8_t> fills = {0xA2, 0xA5, 0xA9};  // the first key of 2 was kept
  for (int i = 0; i < 3; ++i) {
    CHECK(list->keys(i).worker_id() == ids[i]);
    CHECK(list->keys(i).public_key() == std::string(32, static_cast<char>(fills[i])));
  }
  // The masked-input phase waits for everyone again.
  CHECK(r.Pending() == Ids{2, 5, 9});
  // Keys are closed: no more keys, no second CloseKeys.
  CHECK(r.OnAdvertiseKey(5, Key(1)).code() == StatusCode::kFailedPrecondition);
  CHECK_FALSE(r.CloseKeys().ok());
}

TEST_CASE("round: masked inputs are checked and summed mod 2^32", "[round]") {
  const size_t len = 5001;  // d + 1 words, crosses the 4096-word chunk
  Round r(2, {9, 2, 5}, len);
  AdvanceToMaskedInput(&r);

  std::vector<RingVector> in;
  for (uint32_t k = 0; k < 3; ++k) in.push_back(RandomRing(len, 77 + k));
  RingVector want(len);
  for (const auto& v : in) REQUIRE(want.Add(v).ok());

  // Outside the cohort.
  fl::Status s = r.OnMaskedInput(4, fl::RingFrame(in[0]));
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  // Wrong lengths are rejected, not recorded, and leave the sum alone.
  for (size_t n : {len - 1, len + 1, size_t{0}}) {
    s = r.OnMaskedInput(2, fl::RingFrame(RandomRing(n, 5)));
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Contains("masked input"));
  }
  CHECK_FALSE(r.OnMaskedInput(2, zmq::message_t(len * 4 - 1)).ok());
  CHECK(r.Pending() == Ids{2, 5, 9});

  REQUIRE(r.OnMaskedInput(2, fl::RingFrame(in[0])).ok());
  CHECK(r.Pending() == Ids{5, 9});
  s = r.OnMaskedInput(2, fl::RingFrame(in[0]));
  CHECK(s.code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(s.message(), Contains("second masked input from worker 2"));

  REQUIRE(r.OnMaskedInput(9, fl::RingFrame(in[1])).ok());
  CHECK(r.Pending() == Ids{5});
  CHECK_FALSE(r.AllInputsIn());
  CHECK(r.TakeSum().status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.phase() == Phase::kMaskedInput);

  REQUIRE(r.OnMaskedInput(5, fl::RingFrame(in[2])).ok());
  CHECK(r.AllInputsIn());
  CHECK(r.Pending().empty());
  auto sum = r.TakeSum();
  REQUIRE(sum.ok());
  REQUIRE(sum->size() == len);
  CHECK(sum->words() == want.words());
  CHECK(r.phase() == Phase::kComplete);
  CHECK(r.Pending().empty());

  // The sum is handed out once; nothing more is accepted.
  CHECK(r.TakeSum().status().code() == StatusCode::kFailedPrecondition);
  CHECK(r.OnMaskedInput(5, fl::RingFrame(in[2])).code() == StatusCode::kFailedPrecondition);
  CHECK(r.OnAdvertiseKey(5, Key(5)).code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("round: the sum of masked inputs is the sum of the unmasked vectors", "[round]") {
  // Two workers mask with +m and -m: the coordinator's sum is the plain sum.
  const size_t len = 100;
  Round r(3, {1, 2}, len);
  AdvanceToMaskedInput(&r);
  const RingVector a = RandomRing(len, 1), b = RandomRing(len, 2), m = RandomRing(len, 3);
  RingVector ma = a, mb = b;
  for (size_t i = 0; i < len; ++i) {
    ma[i] += m[i];
    mb[i] -= m[i];
  }
  REQUIRE(r.OnMaskedInput(2, fl::RingFrame(mb)).ok());
  REQUIRE(r.OnMaskedInput(1, fl::RingFrame(ma)).ok());
  auto sum = r.TakeSum();
  REQUIRE(sum.ok());
  size_t bad = 0;
  for (size_t i = 0; i < len; ++i) bad += (*sum)[i] != static_cast<uint32_t>(a[i] + b[i]);
  CHECK(bad == 0);
}
