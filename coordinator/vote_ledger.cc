#include "vote_ledger.h"

#include <sstream>

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"

namespace fl::coordinator {

namespace {
constexpr size_t kMaxLedgerBytes = size_t{1} << 30;

Status Replay(const VoteRelease& r, privacy::PateAccountant* accountant) {
  return accountant->RecordRelease(r.sigma, r.guarantee, r.histograms, r.contributors);
}
}  // namespace

Status VoteLedger::Open(privacy::PateAccountant* accountant) {
  if (!env_.FileExists(path_)) return Status::Ok();
  FL_ASSIGN_OR_RETURN(const std::string text, env_.ReadFile(path_, kMaxLedgerBytes));
  std::istringstream lines(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.empty()) continue;
    const std::string where = path_ + ":" + std::to_string(n);
    StatusOr<nlohmann::json> j = ParseJsonText(line, where);
    VoteRelease r;
    bool ok = j.ok() && j->is_object();
    try {
      if (ok) {
        r.round_kind = j->at("release").get<std::string>();
        r.sigma = j->at("sigma").get<double>();
        r.guarantee = j->at("guarantee").get<int64_t>();
        r.histograms = j->at("histograms").get<int64_t>();
        r.contributors = j->at("contributors").get<int64_t>();
      }
    } catch (const nlohmann::json::exception&) {
      ok = false;
    }
    Status s = ok ? Replay(r, accountant) : InvalidArgument("not a release record");
    // A ledger that cannot be read would under-count what was spent: refuse to go on.
    if (!s.ok()) return Status(StatusCode::kDataLoss, where + ": " + s.message());
    ++releases_;
  }
  return Status::Ok();
}

Status VoteLedger::Record(const VoteRelease& r, privacy::PateAccountant* accountant) {
  FL_RETURN_IF_ERROR(Replay(r, accountant));
  const nlohmann::json line = {{"release", r.round_kind},        {"sigma", r.sigma},
                               {"guarantee", r.guarantee},       {"histograms", r.histograms},
                               {"contributors", r.contributors}, {"protocol_round", r.protocol_round},
                               {"epsilon", accountant->Spent()}, {"delta", accountant->delta()}};
  FL_RETURN_IF_ERROR(env_.AppendToFile(path_, line.dump() + "\n"));
  ++releases_;
  return Status::Ok();
}

}  // namespace fl::coordinator
