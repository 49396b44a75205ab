// A private vote (docs/privacy.md): a student hospital sends unlabelled query samples
// (fl-worker ask); hospitals with PATE teachers (fl-worker vote) label them by a noisy vote
// that never leaves secure aggregation without its noise (Confident-GNMax, Papernot et al.
// 2018). For every batch of queries:
//   1. a selection round: each hospital's teachers' vote counts plus its own share of
//      noise sigma_1, summed; the queries whose noisy top count reaches the threshold are
//      selected;
//   2. an answer round over the selected ones with fresh noise sigma_2: the noisy plurality
//      class is the released label.
// The coordinator learns only the noisy sums; it relays the queries without reading them,
// accounts every released histogram (privacy::PateAccountant, kept across restarts in the
// ledger) and poses no query the budget could not pay for if it were answered.
#pragma once

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_log.h"
#include "event_loop.h"
#include "fl/env.h"
#include "fl/privacy/pate_accountant.h"
#include "fl/privacy/release_ledger.h"
#include "metrics.h"
#include "options.h"
#include "round_runner.h"
#include "worker_registry.h"

namespace fl::coordinator {

struct VoteParts {
  const CoordinatorOptions& options;
  Env& env;
  WorkerRegistry& registry;
  EventLoop& loop;
  RoundRunner& rounds;
  AuditLog& audit;
  CoordinatorMetrics& metrics;
  const std::string& session;
  const std::atomic<bool>& stop;
};

class VoteFederation {
 public:
  explicit VoteFederation(VoteParts parts);

  // Builds the accountant and replays the ledger; `highest_round` is the newest protocol
  // round the audit log has seen.
  Status Open(uint32_t highest_round);
  // Answers options.rounds students' query sets; the process exit code.
  int Run();
  // Event-loop handler for QUERIES.
  void OnQueries(WorkerRecord& w, const Message& m);

 private:
  // A student's queries: `count` records of `record_floats` floats each, never interpreted.
  // A student is known by its name, so that one that reconnects finds its set again.
  struct QuerySet {
    std::string name;
    uint32_t count = 0;
    size_t record_floats = 0;
    std::vector<float> records;
  };
  // One vote round's released sums.
  struct VoteSum {
    std::vector<int64_t> counts;  // queries x classes noisy counts
    int64_t teachers = 0;         // teachers whose votes are in it
    int64_t contributors = 0;     // hospitals
  };
  // The connected teachers' hospitals whose teachers read records of `record_floats`.
  std::vector<uint32_t> Teachers(size_t record_floats) const;
  WorkerRecord* Student(const std::string& name) const;
  // InvalidArgument when a connected teachers' hospital reads records of another size.
  Status CheckRecordSize(size_t record_floats) const;
  // Forgets the sets of students that left; true when a set can be answered now.
  bool Ready();
  // Runs one vote round over the queries `which` of `qs`, retrying with the remaining
  // teachers when a round is abandoned; nullopt when it cannot be done (stopping, too few
  // teachers, a malformed sum: *note says why; a fatal error: *fatal).
  std::optional<VoteSum> Vote(wire::RoundStart::Kind kind, const QuerySet& qs, const std::vector<uint32_t>& which,
                              bool* fatal, std::string* note);
  // Poses `qs` batch by batch while the budget allows and sends the labels; false on a
  // fatal error. *posed: the queries put to the teachers.
  bool Answer(const QuerySet& qs, uint32_t* posed);
  int EndAll(const std::string& reason, int code);
  // Number of the next query set: one more than those recorded in state_dir/votes.
  StatusOr<uint64_t> NextSetNumber() const;

  VoteParts p_;
  privacy::VoteNoise noise_;
  std::optional<privacy::PateAccountant> accountant_;
  privacy::ReleaseLedger ledger_;  // state_dir/privacy-ledger.jsonl
  std::deque<QuerySet> waiting_;
  std::string answering_;  // the student whose set is being answered
  uint32_t next_round_ = 1;
  uint64_t answered_sets_ = 0;
};

}  // namespace fl::coordinator
