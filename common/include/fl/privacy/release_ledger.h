// A record of released vote histograms (docs/privacy.md), kept so that a privacy account
// spans restarts: one JSON line per release (its noise, classes, how many histograms, from
// how many hospitals, and the running epsilon), appended and synced before anything
// derived from the release is written or leaves. The coordinator of a private vote keeps
// one for its budget (state_dir/privacy-ledger.jsonl); each teachers' hospital keeps one of
// the sums its teachers' votes went into (state_dir/teachers/privacy-ledger.jsonl), so that
// no coordinator can ask past the hospital's own budget.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "fl/env.h"
#include "fl/privacy/rdp_accountant.h"
#include "fl/status.h"

namespace fl::privacy {

struct Release {
  std::string round_kind;  // "selection" or "answer"
  double sigma = 0;        // the noise the sum carries at `guarantee` hospitals
  int64_t guarantee = 0;   // each hospital added sigma^2 / guarantee
  int64_t classes = 0;     // of each histogram
  int64_t histograms = 0;  // queries whose histograms were released
  int64_t contributors = 0;
  uint32_t protocol_round = 0;
};

// Adds `r` to `into`: `histograms` releases of a `classes`-class vote histogram (one
// teacher changing its vote moves two counts by one) with the noise of the `guarantee`
// hospitals' shares. Only those are credited: the other contributors' noise is independent
// of the data, and the bound for a sum of discrete Gaussians is not monotone in the number
// of parties when each share is small. InvalidArgument for a release that cannot be
// accounted (contributors below the guarantee, a share below 1/4, ...).
Status AddRelease(const Release& r, RdpAccountant* into);

class ReleaseLedger {
 public:
  ReleaseLedger(Env& env, std::string path) : env_(&env), path_(std::move(path)) {}

  // Passes every recorded release to `replay` (none if the file is missing); DataLoss for a
  // line that cannot be read or replayed, rather than an account that is too small.
  Status Open(const std::function<Status(const Release&)>& replay);
  // Appends `r` with the account's epsilon after it, at `delta`.
  Status Append(const Release& r, double epsilon, double delta);

  const std::string& path() const { return path_; }
  int64_t releases() const { return releases_; }

 private:
  Env* env_;
  std::string path_;
  int64_t releases_ = 0;
};

}  // namespace fl::privacy
