// What a worker brings to a round and the local work a round asks of it, shared by
// RoundParticipant (worker/round_participant.h) and the merge federation's rounds
// (worker/merge_contribution.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data_vector.h"
#include "eval_metrics.h"
#include "fl.pb.h"
#include "fl/ring.h"
#include "teacher_ballot.h"
#include "training/trainer.h"

namespace fl::worker {

// What this worker brings to a round besides its trainer.
struct LocalInputs {
  int64_t num_train = 0;                      // its weight in training rounds
  const DataVector* vector = nullptr;         // fl-worker contribute: its data vector
  const data::Dataset* validation = nullptr;  // ... and its validation split
  TeacherBallot* ballot = nullptr;            // fl-worker vote: its teachers and their account
};

// A round's local work, done: what is summed, never sent as it is.
struct LocalResult {
  wire::RoundStart::Kind kind = wire::RoundStart::TRAIN;  // TRAIN: the metrics below are reported
  EvalMetrics global_eval;   // test metrics of the global model received
  TrainStats train;
  std::vector<float> delta;  // what is summed: the update, data vector or scores (never leaves)
  std::optional<RingVector> words;  // ... or, in a vote, the noisy counts as ring words
  uint64_t weight = 0;       // its weight in the sum
};

// A round's local work, checked but not started: run in the background once the round is
// accepted and this worker's keys are out.
struct LocalJob {
  LocalJob(uint64_t weight, const char* what) : weight(weight), what(what) {}
  uint64_t weight = 0;  // of this worker's input
  const char* what = "";
  std::function<StatusOr<LocalResult>()> run;
  std::function<Status()> accept;  // optional: run once the round passes its checks
  // Sign and unmask only a sum of exactly these inputs, whose ids name these hospitals
  // (TIES merging's agreement round: the vector round's survivors).
  std::optional<std::vector<uint32_t>> required_survivors;
  std::map<uint32_t, std::string> required_names;
};

}  // namespace fl::worker
