// fl-coordinator configuration (configs/coordinator.json documents every field).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fl/fixed_point.h"
#include "fl/plan.h"
#include "fl/secagg/params.h"
#include "fl/server_optimizer.h"
#include "fl/status.h"

namespace fl::coordinator {

// A merge federation (docs/merging.md): instead of training, hospitals contribute the data
// vectors they fine-tuned from a common base, merged in windows through secure aggregation.
struct MergeOptions {
  std::string base;           // the common pretrained model (safetensors); set = merge mode
  double window_s = 0;        // once min_workers contributors wait, wait this much longer for more
  std::string weighting = "samples";  // each vector weighted by its sample count, or "uniform"
  // Candidate scales of the merged direction, scored on the hospitals' validation splits.
  std::vector<double> lambdas = {0.5, 1.0, 1.5, 2.0, 3.0};
  // A vector fine-tuned from merged version u is merged while the newest version is at most
  // u + max_staleness, with weight 1 / sqrt(1 + staleness); older ones are refused.
  uint64_t max_staleness = 2;
  // "sum": the weighted mean of the vectors. "ties": TIES merging (trim each vector to its
  // ties_density largest entries, elect signs, average the agreeing entries), with one more
  // secure sum per window that reveals more than the sum (docs/merging.md).
  std::string method = "sum";
  double ties_density = 0.2;
  bool enabled() const { return !base.empty(); }
};

// A private vote (docs/privacy.md): hospitals with PATE teachers label a student's
// queries; each adds its share of the noise to its vote counts inside secure aggregation,
// and the coordinator releases the noisy plurality labels (Confident-GNMax) until the
// privacy budget is spent.
struct VoteOptions {
  bool enabled = false;          // a "vote" section is present
  int64_t classes = 0;           // classes of the plan's classifier (required)
  double sigma_selection = 0;    // sigma_1: noise of the round that selects confident queries (required)
  double sigma_answer = 0;       // sigma_2: noise of the round that releases labels (required)
  // A query is answered when its noisy top count reaches this share of the voting teachers.
  double threshold = 0.6;
  double epsilon_budget = 0;     // the most epsilon the vote may ever spend, at delta (required)
  double delta = 1e-5;
  uint32_t batch_queries = 256;  // queries per selection round
  uint32_t max_queries = 100000; // the most queries one student may send
  uint64_t max_query_bytes = 256ull << 20;  // the largest query payload accepted
};

struct CoordinatorOptions {
  std::string listen = "tcp://127.0.0.1:7000";  // ZeroMQ endpoint the ROUTER binds
  uint32_t min_workers = 3;       // a round starts only with at least this many workers
  uint32_t max_workers = 1000;    // admission refuses workers beyond this
  uint64_t rounds = 10;           // round limit
  // Convergence: stop early when the cohort's mean training loss has not improved by
  // more than min_delta for `patience` rounds (patience 0 = never stop early).
  uint64_t patience = 0;
  double min_delta = 1e-4;
  // Timeouts in seconds.
  double admission_timeout_s = 600;  // waiting for min_workers to connect
  double phase_timeout_s = 600;      // one protocol phase (includes local training)
  double heartbeat_timeout_s = 10;   // a worker silent for this long has dropped
  double heartbeat_interval_s = 1;   // the coordinator's own HEARTBEAT to every worker
  double final_report_timeout_s = 120;
  std::string state_dir = "state";   // checkpoints and metrics.jsonl
  uint64_t keep_checkpoints = 0;     // keep the newest N model versions (0 = all)
  std::string init_checkpoint;       // optional safetensors file to start from
  // A state_dir that already holds a run: continue from its newest checkpoint and keep its
  // metrics (true), or refuse to start (false). Never overwritten either way.
  bool resume = true;
  uint64_t max_model_parameters = 100'000'000;
  FixedPointParams secagg;           // clip, max_total_weight; max_cohort = max_workers
  secagg::SecurityParams security;   // tolerated dropout and corrupt fractions -> k, t
  // How the aggregate moves the global model: FedAvg by default, FedAvgM (momentum), or
  // FedAdagrad, FedYogi, FedAdam (fl/server_optimizer.h). Their state is saved with each
  // round, so a restarted coordinator continues it exactly.
  ServerOptimizerParams server;
  // How links are secured. "curve": ZeroMQ CURVE with the coordinator's key (secret_key,
  // made by fl-coordinator keygen); every hospital authenticates with the key derived from
  // its roster identity, and any other key is refused in the handshake. "insecure": plain
  // TCP, refused unless `listen` is a loopback address.
  std::string transport_security = "curve";
  std::string secret_key;            // the coordinator's key file (mode 600); curve only
  std::string roster;                // roster file: the hospitals admitted (required with curve)
  // HTTP for operators (GET /healthz, /readyz, /metrics): "HOST:PORT", e.g. "0.0.0.0:9100";
  // empty: no HTTP port.
  std::string http_listen;
  Plan plan;                         // sent to every worker
  MergeOptions merge;                // a merge federation instead of training rounds
  // A private vote instead of training rounds; `rounds` is then the number of students'
  // query sets answered before the coordinator ends.
  VoteOptions vote;
};

StatusOr<CoordinatorOptions> ParseCoordinatorOptions(const nlohmann::json& j, const std::string& what);

}  // namespace fl::coordinator
