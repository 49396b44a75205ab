// fl-worker student (docs/privacy.md): the student hospital trains its own model, at home,
// on the queries a private vote answered, with the labels it released (from fl-worker ask,
// state_dir/student/labels.json), and reports its test metrics. The unanswered queries
// are left out.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fl/status.h"
#include "options.h"

namespace fl::worker {

struct StudentRequest {
  std::string plan_path;     // a coordinator config whose "plan" trains the student
  int64_t rounds = 1;        // local passes of the plan's epochs or steps
  std::string labels;        // the labels file; empty: state_dir/student/labels.json
  std::string output_model;  // optional: the trained student
};

// Checks that the labels were given for this hospital's training split as it loads now
// (same samples, same order), trains on the labelled ones and returns the test metrics.
StatusOr<nlohmann::json> TrainStudent(const WorkerOptions& o, const StudentRequest& r);

}  // namespace fl::worker
