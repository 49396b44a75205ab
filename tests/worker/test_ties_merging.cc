// TIES merging at the hospital (worker/ties_trim.h) and the merge rounds its data vector
// may enter (worker/merge_contribution.h): trimmed to its largest entries, its agreeing
// entries, and the refusals that keep it to the vector round and one agreement round over
// exactly the same survivors.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "merge_contribution.h"
#include "ties_trim.h"

using namespace fl;
using namespace fl::worker;

TEST_CASE("a data vector is trimmed to its largest entries", "[merge][ties]") {
  const std::vector<float> tau = {0.1f, -0.5f, 0.3f, 0.0f, -0.3f, 0.2f, 0.05f, -0.01f, 0.4f, 0.0f};
  CHECK(TrimToLargest(tau, 0.2) == std::vector<float>{0, -0.5f, 0, 0, 0, 0, 0, 0, 0.4f, 0});
  // ceil(0.25 x 10) = 3 entries; of the equal magnitudes 0.3 and -0.3 the lower index stays.
  CHECK(TrimToLargest(tau, 0.25) == std::vector<float>{0, -0.5f, 0.3f, 0, 0, 0, 0, 0, 0.4f, 0});
  CHECK(TrimToLargest(tau, 1.0) == tau);
  CHECK(TrimToLargest(tau, 1e-6) == std::vector<float>{0, -0.5f, 0, 0, 0, 0, 0, 0, 0, 0});  // at least one
  CHECK(TrimToLargest({}, 0.5).empty());
}

TEST_CASE("only the entries that agree with the elected sign are sent, with an indicator", "[merge][ties]") {
  const std::vector<float> trimmed = {0.5f, -0.2f, 0.0f, 0.3f, -0.4f};
  const std::vector<float> signs = {1, 1, -1, 0, -1};
  auto out = AgreeingEntries(trimmed, signs, 2.0f);
  REQUIRE(out.ok());
  CHECK(*out == std::vector<float>{0.5f, 0, 0, 0, -0.4f, 2, 0, 0, 0, 2});
  auto bad = AgreeingEntries(trimmed, {1, 1, 0.5f, 0, -1}, 2.0f);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("not -1, 0 or 1"));
  CHECK_FALSE(AgreeingEntries(trimmed, {1, 1}, 2.0f).ok());
}

namespace {

struct Contributor {
  WorkerOptions options;
  DataVector vector;
  LocalInputs inputs;
  std::unique_ptr<MergeContribution> merge;
  explicit Contributor(bool allow_ties) {
    options.allow_ties_merging = allow_ties;
    options.ties_density = 0.5;
    vector.tau.values = {0.1f, -0.5f, 0.3f, 0.0f};
    vector.samples = 40;
    inputs.vector = &vector;
    merge = std::make_unique<MergeContribution>(options);
  }
};

wire::RoundStart VectorRound(double density) {
  wire::RoundStart rs;
  rs.set_kind(wire::RoundStart::MERGE_VECTORS);
  rs.set_dimension(4);
  rs.set_clip(1.0);
  rs.set_ties_density(density);
  return rs;
}

Message AgreementMessage(const std::vector<float>& signs) {
  Message m;
  m.payload.push_back(FloatFrame(signs.data(), signs.size()));
  return m;
}

wire::RoundStart AgreementRound(const std::vector<uint32_t>& survivors) {
  wire::RoundStart rs;
  rs.set_kind(wire::RoundStart::MERGE_AGREEMENT);
  rs.set_dimension(8);
  rs.set_clip(1.0);
  rs.set_ties_density(0.5);
  for (uint32_t id : survivors) {
    rs.add_cohort(id);
    rs.add_required_survivors(id);
  }
  return rs;
}

}  // namespace

TEST_CASE("a hospital's vector enters a TIES vector round only if the hospital allows it", "[merge][ties]") {
  Contributor refusing(false);
  auto job = refusing.merge->VectorJob(refusing.inputs, VectorRound(0.5), Message{});
  REQUIRE_FALSE(job.ok());
  CHECK(job.status().code() == StatusCode::kPermissionDenied);
  CHECK_THAT(job.status().message(), Catch::Contains("allow_ties_merging"));
  CHECK(refusing.merge->VectorJob(refusing.inputs, VectorRound(0), Message{}).ok());  // the plain sum

  Contributor allowing(true);
  auto ties = allowing.merge->VectorJob(allowing.inputs, VectorRound(0.5), Message{});
  REQUIRE(ties.ok());
  CHECK(ties->weight == 40);
  REQUIRE(ties->accept().ok());
  auto result = ties->run();
  REQUIRE(result.ok());
  CHECK(result->delta == std::vector<float>{0, -0.5f, 0.3f, 0});
  // Only at the hospital's own density (ties_density, 0.5 here).
  auto denser = allowing.merge->VectorJob(allowing.inputs, VectorRound(0.9), Message{});
  REQUIRE_FALSE(denser.ok());
  CHECK_THAT(denser.status().message(), Catch::Contains("ties_density"));
  CHECK_FALSE(allowing.merge->VectorJob(allowing.inputs, VectorRound(1.5), Message{}).ok());
}

TEST_CASE("after a plain vector round, or after scoring, there is no agreement round", "[merge][ties]") {
  const std::vector<uint32_t> survivors = {1, 2, 3};
  Contributor plain(true);
  auto vector = plain.merge->VectorJob(plain.inputs, VectorRound(0), Message{});
  REQUIRE(vector.ok());
  REQUIRE(vector->accept().ok());
  REQUIRE(plain.merge->VectorMasked().ok());
  plain.merge->SumUnmasked(wire::RoundStart::MERGE_VECTORS, survivors, {});
  auto after_plain = plain.merge->AgreementJob(plain.inputs, AgreementRound(survivors), AgreementMessage({1, 1, 1, 1}));
  REQUIRE_FALSE(after_plain.ok());
  CHECK_THAT(after_plain.status().message(), Catch::Contains("not sent in a TIES vector round"));
}

TEST_CASE("the agreement round is taken once, over exactly the vector round's survivors", "[merge][ties]") {
  const std::vector<uint32_t> survivors = {2, 5, 7};
  const Message signs = AgreementMessage({1, -1, -1, 0});
  Contributor c(true);
  // Before the vector is sent, there is nothing to agree on.
  auto early = c.merge->AgreementJob(c.inputs, AgreementRound(survivors), signs);
  REQUIRE_FALSE(early.ok());
  CHECK_THAT(early.status().message(), Catch::Contains("not sent in a TIES vector round"));

  auto vector = c.merge->VectorJob(c.inputs, VectorRound(0.5), Message{});
  REQUIRE(vector.ok());
  REQUIRE(vector->accept().ok());
  REQUIRE(c.merge->VectorMasked().ok());
  // Masked, but this worker did not see the sum unmasked: it cannot know its survivors.
  auto unseen = c.merge->AgreementJob(c.inputs, AgreementRound(survivors), signs);
  REQUIRE_FALSE(unseen.ok());
  CHECK_THAT(unseen.status().message(), Catch::Contains("did not help unmask"));

  // A scoring or agreement round's sum does not count: only the vector round's.
  c.merge->SumUnmasked(wire::RoundStart::MERGE_SCORES, survivors, {});
  REQUIRE_FALSE(c.merge->AgreementJob(c.inputs, AgreementRound(survivors), signs).ok());
  const std::map<uint32_t, std::string> names = {{2, "hospital-b"}, {7, "hospital-g"}};
  c.merge->SumUnmasked(wire::RoundStart::MERGE_VECTORS, survivors, names);
  // Another survivor set (5 dropped), another density, a sign that is not a sign: refused.
  auto fewer = c.merge->AgreementJob(c.inputs, AgreementRound({2, 7}), signs);
  REQUIRE_FALSE(fewer.ok());
  CHECK_THAT(fewer.status().message(), Catch::Contains("other hospitals than our vector round's survivors"));
  wire::RoundStart denser = AgreementRound(survivors);
  denser.set_ties_density(0.9);
  CHECK_FALSE(c.merge->AgreementJob(c.inputs, denser, signs).ok());
  auto bad_signs = c.merge->AgreementJob(c.inputs, AgreementRound(survivors), AgreementMessage({1, 2, 3, 4}));
  REQUIRE_FALSE(bad_signs.ok());
  CHECK_THAT(bad_signs.status().message(), Catch::Contains("not -1, 0 or 1"));
  wire::RoundStart uniform = AgreementRound(survivors);
  uniform.set_uniform_weight(true);  // the vector round weighted by samples
  CHECK_FALSE(c.merge->AgreementJob(c.inputs, uniform, signs).ok());
  wire::RoundStart coarser = AgreementRound(survivors);
  coarser.set_clip(4.0);  // another encoding than the vector round's
  CHECK_FALSE(c.merge->AgreementJob(c.inputs, coarser, signs).ok());
  wire::RoundStart short_cohort = AgreementRound(survivors);
  short_cohort.clear_cohort();
  short_cohort.add_cohort(2);
  short_cohort.add_cohort(5);
  CHECK_FALSE(c.merge->AgreementJob(c.inputs, short_cohort, signs).ok());

  auto job = c.merge->AgreementJob(c.inputs, AgreementRound(survivors), signs);
  REQUIRE(job.ok());
  REQUIRE(job->required_survivors);
  CHECK(*job->required_survivors == survivors);
  CHECK(job->required_names == names);
  REQUIRE(job->accept().ok());
  auto result = job->run();
  REQUIRE(result.ok());
  // Trimmed to {0, -0.5, 0.3, 0}: -0.5 agrees with -1, 0.3 does not.
  CHECK(result->delta == std::vector<float>{0, -0.5f, 0, 0, 0, 1, 0, 0});
  CHECK(result->weight == 40);
  auto again = c.merge->AgreementJob(c.inputs, AgreementRound(survivors), signs);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.status().message(), Catch::Contains("second agreement round"));
}
