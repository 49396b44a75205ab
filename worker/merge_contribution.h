// A contributor's data vector in a merge federation (docs/merging.md): which rounds it may
// enter and what each sums. The vector enters one secure sum; with TIES merging, a second
// one over exactly the same survivors (its trimmed entries that agree with the elected
// signs); and the contributor scores lambdas once, after sending its vector. Whatever the
// coordinator asks for, any other round is refused.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fl/wire.h"
#include "local_job.h"
#include "options.h"

namespace fl::worker {

class MergeContribution {
 public:
  explicit MergeContribution(const WorkerOptions& options) : options_(options) {}

  // MERGE_VECTORS: the data vector (trimmed, for TIES), weighted by samples or by 1.
  StatusOr<LocalJob> VectorJob(const LocalInputs& in, const wire::RoundStart& rs, const Message& m);
  // MERGE_AGREEMENT: the trimmed entries that agree with the payload's elected signs.
  StatusOr<LocalJob> AgreementJob(const LocalInputs& in, const wire::RoundStart& rs, const Message& m);
  // MERGE_SCORES: the validation score of every candidate lambda.
  StatusOr<LocalJob> ScoringJob(Trainer& trainer, const LocalInputs& in, const wire::RoundStart& rs,
                                const Message& m, const std::atomic<bool>* cancel);

  // Called once the vector is masked, before it is sent: runs the OnVectorSent hook.
  Status VectorMasked();
  // Called when this worker has helped unmask a round's sum of `survivors`' inputs, with
  // the roster names of the neighbours it shared keys with, by worker id.
  void SumUnmasked(wire::RoundStart::Kind kind, const std::vector<uint32_t>& survivors,
                   const std::map<uint32_t, std::string>& names);
  // Called once a data vector is masked, before it is sent (fl-worker contribute records it).
  void OnVectorSent(std::function<Status()> hook) { on_vector_sent_ = std::move(hook); }

 private:
  const WorkerOptions& options_;
  bool vector_sent_ = false;
  bool scored_ = false;
  // TIES: the vector round's trimming, weight and encoding, the survivors whose sum it
  // unmasked and their names, and whether the one agreement round was accepted.
  double ties_density_ = 0;
  uint64_t vector_weight_ = 0;
  std::string vector_encoding_;
  std::optional<std::vector<uint32_t>> vector_survivors_;
  std::map<uint32_t, std::string> vector_names_;
  bool agreed_ = false;
  std::function<Status()> on_vector_sent_;
};

}  // namespace fl::worker
