#include "teacher_ballot.h"

#include "data/dataset.h"
#include "fl/config_reader.h"
#include "fl/env.h"
#include "teachers.h"

namespace fl::worker {

StatusOr<TeacherBallot> TeacherBallot::Open(const WorkerOptions& o, std::vector<int64_t> sample_shape,
                                            VoteNoiseSource* noise) {
  if (o.state_dir.empty()) return InvalidArgument("vote needs the config's state_dir (its teachers)");
  if (!noise) return FailedPrecondition("no noise source to vote with");
  const std::string path = TeacherManifestPath(o.state_dir);
  if (!Env::Default().FileExists(path)) {
    return FailedPrecondition(path + " is missing: train the teachers first (fl-worker teachers)");
  }
  FL_ASSIGN_OR_RETURN(const std::string text, Env::Default().ReadFile(path, 1 << 20));
  FL_ASSIGN_OR_RETURN(const nlohmann::json manifest, ParseJsonText(text, path));
  if (!manifest.is_object() || !manifest.contains("count") || !manifest["count"].is_number_integer() ||
      manifest["count"].get<int64_t>() < 1 || manifest["count"].get<int64_t>() > kMaxTeachers) {
    return InvalidArgument(path + ": count must be an integer in [1, " + std::to_string(kMaxTeachers) + "]");
  }
  if (sample_shape.empty()) return InvalidArgument("no sample shape to read the queries with");
  return TeacherBallot(o, std::move(sample_shape), noise, manifest["count"].get<int64_t>());
}

int64_t TeacherBallot::record_floats() const {
  int64_t n = 1;
  for (int64_t d : sample_shape_) n *= d;
  return n;
}

StatusOr<RingVector> TeacherBallot::Cast(std::vector<float> records, int64_t classes, double variance) const {
  const size_t per = static_cast<size_t>(record_floats());
  if (records.empty() || records.size() % per != 0) return InvalidArgument("query records of the wrong size");
  data::Dataset queries;
  queries.sample_shape = sample_shape_;
  queries.num_classes = classes;
  queries.labels.assign(records.size() / per, 0);
  queries.features = std::move(records);
  int64_t teacher_classes = 0;
  FL_ASSIGN_OR_RETURN(const std::vector<int64_t> counts, TeacherVotes(*options_, queries, &teacher_classes));
  if (teacher_classes != classes) {
    return InvalidArgument("the vote is over " + std::to_string(classes) + " classes; our teachers have " +
                           std::to_string(teacher_classes));
  }
  return noise_->Noisy(counts, variance);
}

}  // namespace fl::worker
