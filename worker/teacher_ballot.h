// A teachers' hospital's part in a private vote (fl-worker vote, docs/privacy.md): its
// teachers (fl-worker teachers) vote on the query records the coordinator relays, and the
// Q x C counts leave only with the hospital's own share of the noise added, masked by
// secure aggregation.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/ring.h"
#include "fl/status.h"
#include "options.h"
#include "vote_noise.h"

namespace fl::worker {

class TeacherBallot {
 public:
  // The teachers in o.state_dir, voting on records of `sample_shape` (this hospital's own
  // samples' shape); `noise` must outlive the ballot.
  static StatusOr<TeacherBallot> Open(const WorkerOptions& o, std::vector<int64_t> sample_shape,
                                      VoteNoiseSource* noise);

  int64_t teachers() const { return teachers_; }
  // The record size the queries must have, in floats.
  int64_t record_floats() const;
  // The teachers' counts on `records` (queries x record_floats() floats) over `classes`
  // classes, plus noise of `variance` per entry, as ring words.
  StatusOr<RingVector> Cast(std::vector<float> records, int64_t classes, double variance) const;

 private:
  TeacherBallot(const WorkerOptions& o, std::vector<int64_t> shape, VoteNoiseSource* noise, int64_t teachers)
      : options_(&o), sample_shape_(std::move(shape)), noise_(noise), teachers_(teachers) {}
  const WorkerOptions* options_;
  std::vector<int64_t> sample_shape_;
  VoteNoiseSource* noise_;
  int64_t teachers_;
};

}  // namespace fl::worker
