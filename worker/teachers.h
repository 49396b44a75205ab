// PATE teachers (docs/privacy.md): a hospital trains `count` teacher models on as many
// disjoint shards of its training split, so that one patient can change at most one
// teacher's vote. They stay in the hospital's state_dir; their votes on query samples (each
// teacher's predicted class) are the counts the hospitals later sum, with noise, through
// secure aggregation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "fl/status.h"
#include "options.h"

namespace fl::worker {

// state_dir/teachers/teacher-NNN.safetensors (NNN from 000) and the manifest, written
// last: state_dir/teachers/teachers.json.
std::string TeacherPath(const std::string& state_dir, int64_t index);
std::string TeacherManifestPath(const std::string& state_dir);

constexpr int64_t kMaxTeachers = 1000;

struct TeacherRequest {
  std::string plan_path;  // a coordinator config whose "plan" trains every teacher
  int64_t count = 0;      // teachers (shards), 1 .. kMaxTeachers
  int64_t rounds = 1;     // local passes of the plan's epochs or steps
};

// Deals the training split into `count` disjoint shards (a fixed seed; whole cases), trains
// a teacher on each, writes them and the manifest, and returns a summary: each teacher's
// shard size and test accuracy, and the noiseless plurality vote's test accuracy.
StatusOr<nlohmann::json> TrainTeachers(const WorkerOptions& o, const TeacherRequest& r);

// The hospital's teachers' votes on `queries`: row-major Q x C counts (C the plan's
// classes), each row summing to the number of teachers.
StatusOr<std::vector<int64_t>> TeacherVotes(const WorkerOptions& o, const data::Dataset& queries, int64_t* classes);

}  // namespace fl::worker
