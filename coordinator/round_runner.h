// One secure-aggregation round: ROUND_START (a training round with the global model, or a
// merge federation's round, docs/merging.md) to the cohort, then the protocol's phases (secagg::SecAggServer, no I/O) driven by the event loop: each
// phase closes when every live worker expected in it has answered, or at the phase
// deadline with those that have. A round that cannot finish is abandoned and its cohort
// told why; the caller starts another.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_log.h"
#include "event_loop.h"
#include "fl/env.h"
#include "fl/fixed_point.h"
#include "fl/ring.h"
#include "fl/secagg/server.h"
#include "fl/wire.h"
#include "metrics.h"
#include "options.h"
#include "worker_registry.h"

namespace fl::coordinator {

// What a round sums and who takes part.
struct RoundSpec {
  wire::RoundStart::Kind kind = wire::RoundStart::TRAIN;
  std::optional<std::vector<uint32_t>> cohort;   // unset: every connected worker
  uint64_t model_version = 0;
  uint64_t dimension = 0;                        // entries of each input, besides its weight
  std::vector<const std::vector<float>*> payload;  // float frames sent with ROUND_START
  FixedPointParams fixed_point;                  // the inputs' encoding
  bool uniform_weight = false;                   // MERGE_VECTORS: every vector weighs 1
  std::vector<double> lambdas;                   // MERGE_SCORES: one input entry each
  double ties_density = 0;                       // MERGE_VECTORS, MERGE_AGREEMENT: TIES trimming
  std::vector<uint32_t> required_survivors;      // MERGE_AGREEMENT: the vector round's survivors
  // VOTE_SELECTION, VOTE_ANSWER: the noise each sum must carry, from at least
  // `min_survivors` hospitals (each adds vote_sigma^2 / min_survivors), and the classes.
  double vote_sigma = 0;
  uint32_t vote_classes = 0;
  uint32_t min_survivors = 3;                    // never unmask a sum of fewer inputs
};

struct RoundResult {
  uint32_t protocol_round = 0;
  std::vector<uint32_t> survivor_ids;  // whose inputs are in the sum
  RingVector sum;                    // the survivors' masked inputs, unmasked: a sum only
  secagg::RoundParams params;
  size_t invited = 0;
  size_t survivors = 0;
  std::map<std::string, nlohmann::json> hospitals;  // survivors' reported metrics, by name
  double seconds = 0;
};

class RoundRunner {
 public:
  RoundRunner(EventLoop& loop, WorkerRegistry& registry, Env& env, AuditLog& audit, const CoordinatorOptions& options,
              const secagg::Roster* roster, const std::string& session, CoordinatorMetrics& metrics);
  ~RoundRunner();

  // Runs protocol round `protocol_round` training `model` (version `model_version`) with
  // every connected worker; Aborted when it was abandoned.
  StatusOr<RoundResult> Run(uint32_t protocol_round, const std::vector<float>& model, uint64_t model_version);
  // Runs protocol round `protocol_round` as `spec` says.
  StatusOr<RoundResult> Run(uint32_t protocol_round, const RoundSpec& spec);

  // Event-loop handler for SECAGG_CLIENT.
  void OnMessage(WorkerRecord& w, const Message& m);
  // Registry listener: worker `id` is gone.
  void OnDrop(uint32_t id);

 private:
  void Send(const std::vector<secagg::Outgoing>& out);
  void Abandon(const std::string& reason);

  EventLoop& loop_;
  WorkerRegistry& registry_;
  Env& env_;
  AuditLog& audit_;
  const CoordinatorOptions& options_;
  const secagg::Roster* roster_;
  const std::string& session_;
  CoordinatorMetrics& metrics_;

  std::unique_ptr<secagg::SecAggServer> round_;
  size_t phase_drops_ = 0;  // workers dropped during the phase now running
  uint32_t round_id_ = 0;
  std::vector<uint32_t> cohort_;
  std::map<uint32_t, nlohmann::json> reported_;  // by worker id, from the masked inputs
};

}  // namespace fl::coordinator
