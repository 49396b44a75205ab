// A merge federation (docs/merging.md): hospitals that cannot train at the same time each
// fine-tune a common base model whenever they can (fl-worker finetune) and come online with
// the finished data vector (fl-worker contribute). Whenever at least min_workers of them
// wait with vectors against the same model, the coordinator runs a window:
//   1. a secure-aggregation round over their vectors (weighted by sample count or uniform):
//      only the window's weighted sum is learnt, and it joins the running merge;
//   2. a secure-aggregation round over their validation scores of base + lambda * merged
//      direction for each lambda of the grid: only the pooled score of each lambda;
//   3. the best lambda's model is committed as the next version and sent to the window's
//      contributors, who report its test metrics and leave.
// A vector is merged at most once (its random id is kept with the state), and a vector
// fine-tuned from a merged version is re-based onto the base and weighted for staleness.
#pragma once

#include <atomic>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <vector>

#include "audit_log.h"
#include "event_loop.h"
#include "final_reports.h"
#include "fl/env.h"
#include "fl/safetensors.h"
#include "merge_accumulator.h"
#include "merge_ledger.h"
#include "metrics.h"
#include "options.h"
#include "round_runner.h"
#include "run_store.h"
#include "worker_registry.h"

namespace fl::coordinator {

// What the merge federation drives: the coordinator's own parts.
struct MergeParts {
  const CoordinatorOptions& options;
  Env& env;
  WorkerRegistry& registry;
  EventLoop& loop;
  RoundRunner& rounds;
  RunStore& store;
  AuditLog& audit;
  FinalReports& reports;
  CoordinatorMetrics& metrics;
  const std::atomic<bool>& stop;
};

class MergeFederation {
 public:
  explicit MergeFederation(MergeParts parts);

  // Reads the base and, when continuing a run (`saved`), its merge state and published
  // versions; `highest_round` is the newest protocol round the audit log has seen.
  Status Open(std::optional<SavedState> saved, uint32_t highest_round);
  const Checkpoint& base() const { return base_; }
  // Runs windows until options.rounds merged versions exist; the process exit code.
  int Run();

 private:
  // A window's contributors: connected workers offering vectors against one model version.
  struct Window {
    uint64_t base_version = 0;
    std::vector<uint32_t> cohort;
  };
  AdmissionVerdict Judge(const wire::Contribution& c) const;
  // Whether a vector is in a sum the coordinator has learnt (merged, or in a window whose
  // version was never committed): it is never summed again.
  bool Spent(const std::string& vector_id) const { return merged_.Merged(vector_id) || ledger_.Spent(vector_id); }
  // The largest group of waiting contributors with a vector against one model, if it has
  // min_workers; contributors whose vectors became too stale are dropped with the reason.
  std::optional<Window> ReadyWindow();
  std::optional<Window> AwaitWindow();
  // One window; false if it merged nothing (its rounds were abandoned). *fatal: the state
  // could not be recorded.
  bool MergeWindow(const Window& w, bool* fatal);
  // The pooled validation score of every lambda (empty when the scoring round failed).
  struct Scores {
    std::vector<double> values;  // one per lambda; empty when the scoring round failed
    double validation_samples = 0;
    size_t survivors = 0;
    uint32_t protocol_round = 0;
  };
  Scores ScoreLambdas(const std::vector<uint32_t>& cohort, const std::vector<float>& direction);
  StatusOr<std::vector<float>> OffsetOf(uint64_t version) const;
  int EndAll(const std::string& reason, int code);

  MergeParts p_;
  Checkpoint base_;
  std::string base_hash_;
  MergeAccumulator merged_{0};
  uint64_t version_ = 0;
  MergeLedger ledger_;
  uint32_t next_round_ = 1;
};

}  // namespace fl::coordinator
