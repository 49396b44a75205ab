// fl-worker configuration (configs/worker-*.json document every field).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "data_options.h"
#include "fl/secagg/params.h"
#include "fl/status.h"
#include "training/trainer.h"

namespace fl::worker {

struct WorkerOptions {
  std::string name;                              // hospital name (1-64 of [A-Za-z0-9._-]); required
  std::string coordinator = "tcp://127.0.0.1:7000";  // the coordinator's endpoint
  // The coordinator's public transport key (64 hex digits, from fl-coordinator keygen):
  // the link is encrypted (CURVE) and any coordinator without this key is refused.
  // Required unless `insecure`.
  std::string coordinator_public_key;
  bool insecure = false;             // plain TCP: only to a loopback coordinator, for tests
  DataOptions data;
  DeviceOptions device;
  uint64_t seed = 0;                 // added to the plan's seed for data order
  uint32_t min_cohort = 3;           // refuse rounds whose cohort is smaller (>= 3)
  uint32_t min_survivors = 3;        // never sign or unmask a sum of fewer inputs (>= 3; t if larger)
  // What this hospital keeps on its own disk: its preprocessing (preprocessing.json, written
  // whenever it loads its training data), so that predict needs no training file. Empty:
  // nothing kept.
  std::string state_dir;
  std::string identity_key;          // this hospital's Ed25519 key file (fl-worker keygen);
                                     // required to join a federation
  std::string roster;                // the federation's roster of public keys; required to join
  secagg::SecurityParams security;   // refuse rounds whose k, t do not meet these bounds
  double connect_timeout_s = 0;      // no first WELCOME within this: exit (0 = keep trying)
  double idle_timeout_s = 30;        // coordinator silent for this long: the session is lost
  bool once = false;                 // --once: end (exit 1) when the session ends, do not rejoin
  double heartbeat_interval_s = 1.0; // liveness messages while connected
  std::string output_model;          // optional: final global model written here
  // Merging (docs/merging.md): the share of the training split held out as a validation
  // split, never trained on by fl-worker finetune and used by fl-worker contribute to score
  // lambda. Both commands must use the same value.
  double validation_fraction = 0.1;
  bool contribute = false;           // fl-worker contribute: offer the data vector to a merge federation
  // Let a merge federation merge this hospital's vector with TIES, which reveals more than
  // the sum of the vectors (docs/merging.md, "TIES merging").
  bool allow_ties_merging = false;
  // ... and only at this density (the share of the vector's entries kept), which sets how
  // much TIES reveals.
  double ties_density = 0.2;
  // A private vote (docs/privacy.md): fl-worker vote brings this hospital's teachers,
  // fl-worker ask its unlabelled samples as a student.
  enum class VoteRole { kNone, kTeachers, kStudent };
  VoteRole vote_role = VoteRole::kNone;
  // The least noise (standard deviation) this hospital lets a vote sum over its teachers'
  // counts carry, whatever the coordinator asks for.
  double min_vote_sigma = 1.0;
  // This hospital's own privacy budget for its teachers' votes, over every vote it takes
  // part in (state_dir/teachers/privacy-ledger.jsonl): rounds past it are refused.
  double vote_epsilon_budget = 10.0;
  double vote_delta = 1e-5;
};

StatusOr<WorkerOptions> ParseWorkerOptions(const nlohmann::json& j, const std::string& what);

// Seed of this hospital's data order: the plan's seed, the configured seed and a hash of
// the hospital's name, so that runs are reproducible whatever order workers connect in.
uint64_t TrainingSeed(const WorkerOptions& o, uint64_t plan_seed);

// Loads this worker's train/test split as configured.
}  // namespace fl::worker
