// The student's side of a private vote (worker/student_queries.h): its samples become query
// records, and a LABELS message from the coordinator is checked against them before the
// labels file is written: indices ascending and among those posed, labels in range, the
// payload of the announced size.
#include <catch2/catch.hpp>

#include "fl/wire.h"
#include "mem_env.h"
#include "student_queries.h"

using fl::worker::SaveLabels;

namespace {
fl::data::Dataset Pool(size_t n) {
  fl::data::Dataset d;
  d.sample_shape = {1, 2, 2};
  d.num_classes = 2;
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < 4; ++k) d.features.push_back(static_cast<float>(i) + 0.25f * static_cast<float>(k));
    d.labels.push_back(0);
  }
  return d;
}

fl::Message Labels(uint32_t posed, const std::vector<uint32_t>& pairs, uint32_t answered, double epsilon = 1.5) {
  fl::wire::Labels l;
  l.set_answered(answered);
  l.set_posed(posed);
  l.set_epsilon(epsilon);
  l.set_delta(1e-5);
  l.set_note("the privacy budget allows no more queries");
  fl::Message m = fl::MakeMessage(fl::wire::LABELS, std::string(16, 's'), 0, 0, &l);
  m.payload.push_back(fl::WordFrame(pairs));
  return m;
}
}  // namespace

TEST_CASE("the student's queries are its samples as float records", "[student]") {
  const fl::data::Dataset pool = Pool(5);
  auto q = fl::worker::MakeQueries(pool);
  REQUIRE(q.ok());
  CHECK(q->body.count() == 5);
  REQUIRE(q->payload.size() == 1);
  CHECK(q->payload[0].size() == 5 * 4 * sizeof(float));
  CHECK_FALSE(fl::worker::MakeQueries(Pool(0)).ok());
}

TEST_CASE("released labels are checked against the pool and written", "[student]") {
  fl::testing::MemEnv env;
  const fl::data::Dataset pool = Pool(6);
  auto saved = SaveLabels(env, "st", pool, Labels(4, {0, 1, 2, 0, 3, 1}, 3));
  REQUIRE(saved.ok());
  CHECK((*saved)["answered"] == nlohmann::json::parse("[[0,1],[2,0],[3,1]]"));
  CHECK((*saved)["posed"] == 4);
  CHECK((*saved)["queries"] == 6);
  CHECK((*saved)["query_pool_blake2b"] == fl::worker::QueryPoolHash(pool));
  auto text = env.ReadFile(fl::worker::StudentLabelsPath("st"), 1 << 20);
  REQUIRE(text.ok());
  CHECK(nlohmann::json::parse(*text) == *saved);

  // Malformed: indices not ascending, beyond those posed, a label out of range, more
  // answered than posed, more posed than asked, a payload of another size, bad epsilon.
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(4, {2, 1, 0, 0}, 2)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(4, {0, 1, 4, 0}, 2)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(4, {0, 1000}, 1)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(1, {0, 1, 1, 1}, 2)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(7, {0, 1}, 1)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(4, {0, 1, 2}, 2)).ok());
  CHECK_FALSE(SaveLabels(env, "st", pool, Labels(4, {0, 1}, 1, -1)).ok());
  fl::Message no_payload = Labels(4, {0, 1}, 1);
  no_payload.payload.clear();
  CHECK_FALSE(SaveLabels(env, "st", pool, no_payload).ok());
}
