// PATE teachers (docs/privacy.md): a hospital trains `count` teacher models on as many
// disjoint shards of its training split, so that one patient can change at most one
// teacher's vote. They stay in the hospital's state_dir; their votes on query samples (each
// teacher's predicted class) are the counts the hospitals later sum, with noise, through
// secure aggregation.
#pragma once

#include <cstdint>
#include <memory>
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

class Trainer;

// A hospital's teachers, read once from its state_dir, to vote on query samples.
class TeacherEnsemble {
 public:
  // Reads the manifest and every teacher, built for samples shaped like `like`'s (one
  // sample is enough).
  static StatusOr<TeacherEnsemble> Load(const WorkerOptions& o, const data::Dataset& like);
  TeacherEnsemble(TeacherEnsemble&&) noexcept;
  TeacherEnsemble& operator=(TeacherEnsemble&&) noexcept;
  ~TeacherEnsemble();

  int64_t size() const { return static_cast<int64_t>(teachers_.size()); }
  int64_t classes() const { return classes_; }
  // The teachers' votes on `queries`: row-major Q x C counts, each row summing to size().
  StatusOr<std::vector<int64_t>> Votes(const data::Dataset& queries);

 private:
  TeacherEnsemble() = default;
  std::vector<std::unique_ptr<Trainer>> teachers_;
  int64_t classes_ = 0;
};

}  // namespace fl::worker
