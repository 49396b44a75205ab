// What a private vote has released (docs/privacy.md), kept so that its privacy budget spans
// every run on one state_dir: state_dir/privacy-ledger.jsonl, one line per released round
// (its noise, how many histograms, from how many hospitals), appended as soon as the
// coordinator has learnt a sum and before anything derived from it leaves. A restarted
// coordinator replays the ledger into its accountant before it answers anyone.
#pragma once

#include <cstdint>
#include <string>

#include "fl/env.h"
#include "fl/privacy/pate_accountant.h"
#include "fl/status.h"

namespace fl::coordinator {

struct VoteRelease {
  std::string round_kind;  // "selection" or "answer"
  double sigma = 0;        // the noise the sum carries at `guarantee` hospitals
  int64_t guarantee = 0;   // each hospital added sigma^2 / guarantee
  int64_t histograms = 0;  // queries whose histograms were released
  int64_t contributors = 0;
  uint32_t protocol_round = 0;
};

class VoteLedger {
 public:
  VoteLedger(Env& env, const std::string& state_dir) : env_(env), path_(state_dir + "/privacy-ledger.jsonl") {}

  // Replays the ledger (if any) into `accountant`; DataLoss for a line it cannot read.
  Status Open(privacy::PateAccountant* accountant);
  // Accounts `r` in `accountant` and appends it to the ledger.
  Status Record(const VoteRelease& r, privacy::PateAccountant* accountant);

  const std::string& path() const { return path_; }
  int64_t releases() const { return releases_; }

 private:
  Env& env_;
  std::string path_;
  int64_t releases_ = 0;
};

}  // namespace fl::coordinator
