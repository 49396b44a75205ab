#include "teachers.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include "fl/config_reader.h"
#include "fl/env.h"
#include "fl/log.h"
#include "fl/plan.h"
#include "fl/safetensors.h"
#include "hospital_data.h"
#include "local_passes.h"
#include "offline.h"
#include "plan_files.h"
#include "training/trainer.h"

namespace fl::worker {

namespace {
constexpr uint64_t kShardSeed = 0x7465616368657273ull;  // "teachers"

// Rows of each shard: whole cases dealt to `count` equal parts.
StatusOr<std::vector<std::vector<size_t>>> Shards(const data::Dataset& train, int64_t count) {
  std::vector<size_t> case_index(train.size());
  std::map<int32_t, size_t> index_of_case;
  for (size_t i = 0; i < train.size(); ++i) {
    const int32_t c = train.cases.empty() ? static_cast<int32_t>(i) : train.cases[i];
    case_index[i] = index_of_case.emplace(c, index_of_case.size()).first->second;
  }
  if (index_of_case.size() < static_cast<size_t>(count)) {
    return InvalidArgument(std::to_string(count) + " teachers need at least as many training cases; this hospital has " +
                           std::to_string(index_of_case.size()));
  }
  std::vector<std::vector<size_t>> shards(static_cast<size_t>(count));
  data::Partition p;
  p.weights.assign(static_cast<size_t>(count), 1.0);
  p.seed = kShardSeed;
  std::vector<int64_t> shard_of_case(index_of_case.size(), -1);
  for (int64_t s = 0; s < count; ++s) {
    p.index = static_cast<size_t>(s);
    FL_ASSIGN_OR_RETURN(std::vector<size_t> cases, data::PartitionRows(index_of_case.size(), p));
    for (size_t c : cases) shard_of_case[c] = s;
  }
  for (size_t i = 0; i < train.size(); ++i) shards[static_cast<size_t>(shard_of_case[case_index[i]])].push_back(i);
  return shards;
}

// The index of a row's largest entry; ties go to the lower class.
template <typename T>
int64_t Argmax(const T* row, int64_t classes) {
  return std::max_element(row, row + classes) - row;
}
}  // namespace

std::string TeacherPath(const std::string& state_dir, int64_t index) {
  char name[40];
  std::snprintf(name, sizeof name, "/teachers/teacher-%03lld.safetensors", static_cast<long long>(index));
  return state_dir + name;
}

std::string TeacherManifestPath(const std::string& state_dir) { return state_dir + "/teachers/teachers.json"; }

StatusOr<nlohmann::json> TrainTeachers(const WorkerOptions& o, const TeacherRequest& r) {
  if (o.state_dir.empty()) return InvalidArgument("teachers are kept in the config's state_dir; set one");
  if (r.count < 1 || r.count > kMaxTeachers) {
    return InvalidArgument("--teachers must be an integer in [1, " + std::to_string(kMaxTeachers) + "]");
  }
  if (r.rounds < 1 || r.rounds > 100000) return InvalidArgument("--rounds must be an integer in [1, 100000]");
  FL_ASSIGN_OR_RETURN(const Plan plan, CoordinatorConfigPlan(r.plan_path, r.plan_path + " plan"));
  if (plan.personalization.method != "none") return InvalidArgument(r.plan_path + ": teachers are whole models");
  FL_ASSIGN_OR_RETURN(data::Split data, LoadHospitalData(o));
  if (data.train.segmentation()) return InvalidArgument("teachers vote on classes: a segmentation dataset is refused");
  FL_ASSIGN_OR_RETURN(const std::vector<std::vector<size_t>> shards, Shards(data.train, r.count));
  Env& env = Env::Default();
  FL_RETURN_IF_ERROR(env.MakeDirs(o.state_dir + "/teachers"));
  nlohmann::json teachers = nlohmann::json::array();
  for (int64_t i = 0; i < r.count; ++i) {
    data::Split shard{data::Subset(data.train, shards[static_cast<size_t>(i)]), data.test};
    FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t,
                        Trainer::Create(plan, std::move(shard), o.device,
                                        TrainingSeed(o, plan.training.seed) + static_cast<uint64_t>(i)));
    FL_RETURN_IF_ERROR(TrainPasses(*t, r.rounds, "teacher " + std::to_string(i + 1) + " pass").status());
    FL_ASSIGN_OR_RETURN(const EvalMetrics eval, t->Evaluate());
    Checkpoint c{t->Layout(), t->Parameters(), ModelMetadata(plan)};
    c.metadata["kind"] = "teacher";
    c.metadata["teacher_index"] = std::to_string(i);
    c.metadata["teacher_count"] = std::to_string(r.count);
    c.metadata["shard_samples"] = std::to_string(shards[static_cast<size_t>(i)].size());
    FL_RETURN_IF_ERROR(WriteSafetensors(env, TeacherPath(o.state_dir, i), c));
    teachers.push_back({{"shard_samples", shards[static_cast<size_t>(i)].size()}, {"test_accuracy", eval.accuracy}});
    FL_LOG(kInfo) << "teacher " << i + 1 << "/" << r.count << ": " << shards[static_cast<size_t>(i)].size()
                  << " samples, test accuracy " << eval.accuracy;
  }
  const nlohmann::json manifest = {{"count", r.count}, {"plan", PlanToJson(plan)}, {"hospital", o.name}};
  FL_RETURN_IF_ERROR(env.WriteFile(TeacherManifestPath(o.state_dir), manifest.dump(1) + "\n"));  // the commit point
  // The noiseless ensemble on this hospital's own test split.
  FL_ASSIGN_OR_RETURN(TeacherEnsemble ensemble, TeacherEnsemble::Load(o, data.test));
  FL_ASSIGN_OR_RETURN(const std::vector<int64_t> votes, ensemble.Votes(data.test));
  const int64_t classes = ensemble.classes();
  size_t correct = 0;  // of the plurality votes
  for (size_t q = 0; q < data.test.size(); ++q) correct += Argmax(&votes[q * classes], classes) == data.test.labels[q];
  nlohmann::json out = {{"name", o.name}, {"mode", "teachers"}, {"teachers", teachers}, {"count", r.count},
                        {"train_samples", data.train.size()}, {"test_samples", data.test.size()},
                        {"directory", o.state_dir + "/teachers"}};
  out["ensemble_test_accuracy"] = data.test.size() ? static_cast<double>(correct) / data.test.size() : 0.0;
  return out;
}

TeacherEnsemble::TeacherEnsemble(TeacherEnsemble&&) noexcept = default;
TeacherEnsemble& TeacherEnsemble::operator=(TeacherEnsemble&&) noexcept = default;
TeacherEnsemble::~TeacherEnsemble() = default;

StatusOr<TeacherEnsemble> TeacherEnsemble::Load(const WorkerOptions& o, const data::Dataset& like) {
  if (like.size() == 0) return InvalidArgument("no sample to build the teachers for");
  Env& env = Env::Default();
  const std::string manifest_path = TeacherManifestPath(o.state_dir);
  if (!env.FileExists(manifest_path)) {
    return FailedPrecondition(manifest_path + " is missing: train the teachers first (fl-worker teachers)");
  }
  FL_ASSIGN_OR_RETURN(const std::string text, env.ReadFile(manifest_path, 1 << 20));
  FL_ASSIGN_OR_RETURN(const nlohmann::json manifest, ParseJsonText(text, manifest_path));
  if (!manifest.is_object() || !manifest.contains("count") || !manifest["count"].is_number_integer() ||
      manifest["count"].get<int64_t>() < 1 || manifest["count"].get<int64_t>() > kMaxTeachers) {
    return InvalidArgument(manifest_path + ": count must be an integer in [1, " + std::to_string(kMaxTeachers) + "]");
  }
  TeacherEnsemble e;
  for (int64_t i = 0; i < manifest["count"].get<int64_t>(); ++i) {
    data::Split shape{data::Subset(like, {0}), data::Subset(like, {})};
    FL_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, LoadModel(TeacherPath(o.state_dir, i), std::move(shape), o.device));
    if (t->segmentation()) return InvalidArgument(TeacherPath(o.state_dir, i) + ": not a classifier");
    if (i == 0) e.classes_ = t->num_classes();
    if (t->num_classes() != e.classes_) {
      return InvalidArgument(TeacherPath(o.state_dir, i) + ": another number of classes than teacher 0");
    }
    e.teachers_.push_back(std::move(t));
  }
  return e;
}

StatusOr<std::vector<int64_t>> TeacherEnsemble::Votes(const data::Dataset& queries) {
  if (queries.size() == 0) return InvalidArgument("no query samples");
  std::vector<int64_t> votes(queries.size() * static_cast<size_t>(classes_), 0);
  for (const std::unique_ptr<Trainer>& t : teachers_) {
    FL_ASSIGN_OR_RETURN(const std::vector<float> p, t->PredictProbabilities(queries));
    if (p.size() != votes.size()) return Internal("teacher probabilities of the wrong size");
    for (size_t q = 0; q < queries.size(); ++q) ++votes[q * classes_ + Argmax(&p[q * classes_], classes_)];
  }
  return votes;
}

}  // namespace fl::worker
