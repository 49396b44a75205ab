// The student's side of a private vote (fl-worker ask, docs/privacy.md): its unlabelled
// samples (the training split, whose labels are never read) go to the coordinator as query
// records, and the labels the vote releases come back into state_dir/student/labels.json,
// for fl-worker student to train on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "fl/env.h"
#include "fl/status.h"
#include "fl/wire.h"

namespace fl::worker {

std::string StudentLabelsPath(const std::string& state_dir);

// The QUERIES message's body and payload: every sample of `pool` as float32 records.
struct QueryMessage {
  wire::Queries body;
  std::vector<Frame> payload;
};
StatusOr<QueryMessage> MakeQueries(const data::Dataset& pool);

// BLAKE2b of the query records: the labels file names the pool its indices refer to.
std::string QueryPoolHash(const data::Dataset& pool);

// Checks a LABELS message against `pool` (indices ascending and in range, labels in range)
// and writes the labels file atomically; returns its contents.
StatusOr<nlohmann::json> SaveLabels(Env& env, const std::string& state_dir, const data::Dataset& pool,
                                    const Message& m);

}  // namespace fl::worker
