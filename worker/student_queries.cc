#include "student_queries.h"

#include "fl/crypto.h"

namespace fl::worker {

std::string StudentLabelsPath(const std::string& state_dir) { return state_dir + "/student/labels.json"; }

namespace {
std::string RecordBytes(const data::Dataset& pool) {
  return std::string(reinterpret_cast<const char*>(pool.features.data()), pool.features.size() * sizeof(float));
}
}  // namespace

StatusOr<QueryMessage> MakeQueries(const data::Dataset& pool) {
  if (pool.size() == 0) return InvalidArgument("the student has no samples to ask about (its training split is empty)");
  if (pool.segmentation()) return InvalidArgument("a private vote labels classes: a segmentation dataset is refused");
  QueryMessage q;
  q.body.set_count(static_cast<uint32_t>(pool.size()));
  q.payload.push_back(FloatFrame(pool.features.data(), pool.features.size()));
  return q;
}

std::string QueryPoolHash(const data::Dataset& pool) { return crypto::HashHex(RecordBytes(pool)); }

StatusOr<nlohmann::json> SaveLabels(Env& env, const std::string& state_dir, const data::Dataset& pool,
                                    const Message& m) {
  wire::Labels labels;
  FL_RETURN_IF_ERROR(UnpackBody(m, &labels));
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  if (labels.posed() > pool.size() || labels.answered() > labels.posed()) {
    return InvalidArgument("malformed LABELS: " + std::to_string(labels.answered()) + " answered, " +
                           std::to_string(labels.posed()) + " posed of " + std::to_string(pool.size()));
  }
  FL_ASSIGN_OR_RETURN(const std::vector<uint32_t> pairs,
                      ReadWordFrame(m.payload[0], 2 * static_cast<size_t>(labels.answered()), "labels"));
  nlohmann::json answered = nlohmann::json::array();
  int64_t previous = -1;
  for (size_t i = 0; i < labels.answered(); ++i) {
    const int64_t q = pairs[2 * i], l = pairs[2 * i + 1];
    if (q <= previous || q >= labels.posed() || l >= data::kMaxClasses) {
      return InvalidArgument("malformed LABELS: query indices must ascend below those posed, labels below " +
                             std::to_string(data::kMaxClasses));
    }
    previous = q;
    answered.push_back({q, l});
  }
  if (!(labels.epsilon() >= 0) || !(labels.delta() > 0 && labels.delta() < 1)) {
    return InvalidArgument("malformed LABELS: epsilon and delta out of range");
  }
  const nlohmann::json out = {{"queries", pool.size()},          {"query_pool_blake2b", QueryPoolHash(pool)},
                              {"posed", labels.posed()},         {"answered", answered},
                              {"epsilon", labels.epsilon()},     {"delta", labels.delta()},
                              {"note", labels.note().substr(0, 300)}};
  FL_RETURN_IF_ERROR(env.MakeDirs(state_dir + "/student"));
  FL_RETURN_IF_ERROR(env.WriteFile(StudentLabelsPath(state_dir), out.dump(1) + "\n"));
  return out;
}

}  // namespace fl::worker
