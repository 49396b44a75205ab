#include "fl/privacy/release_ledger.h"

#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fl/config_reader.h"

namespace fl::privacy {

namespace {
constexpr size_t kMaxLedgerBytes = size_t{1} << 30;
}  // namespace

Status AddRelease(const Release& r, RdpAccountant* into) {
  if (!(r.sigma > 0) || !std::isfinite(r.sigma) || r.guarantee < 1 || r.contributors < r.guarantee ||
      r.histograms < 0 || r.classes < 2 || r.classes > 1000) {
    return InvalidArgument("a release needs sigma > 0, 2..1000 classes and at least its " +
                           std::to_string(r.guarantee) + " guaranteed hospitals' noise");
  }
  const double share = r.sigma * r.sigma / static_cast<double>(r.guarantee);
  if (share < 0.25) return InvalidArgument("a release whose hospitals each added variance below 1/4");
  return into->AddSummedDiscreteGaussian(VoteChange(r.classes), {share, r.guarantee}, r.histograms);
}

Status ReleaseLedger::Open(const std::function<Status(const Release&)>& replay) {
  if (!env_->FileExists(path_)) return Status::Ok();
  FL_ASSIGN_OR_RETURN(const std::string text, env_->ReadFile(path_, kMaxLedgerBytes));
  std::istringstream lines(text);
  std::string line;
  int64_t n = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (line.empty()) continue;
    const std::string where = path_ + ":" + std::to_string(n);
    StatusOr<nlohmann::json> j = ParseJsonText(line, where);
    Release r;
    bool ok = j.ok() && j->is_object();
    try {
      if (ok) {
        r.round_kind = j->at("release").get<std::string>();
        r.sigma = j->at("sigma").get<double>();
        r.guarantee = j->at("guarantee").get<int64_t>();
        r.classes = j->at("classes").get<int64_t>();
        r.histograms = j->at("histograms").get<int64_t>();
        r.contributors = j->at("contributors").get<int64_t>();
      }
    } catch (const nlohmann::json::exception&) {
      ok = false;
    }
    Status s = ok ? replay(r) : InvalidArgument("not a release record");
    if (!s.ok()) return Status(StatusCode::kDataLoss, where + ": " + s.message());
    ++releases_;
  }
  return Status::Ok();
}

Status ReleaseLedger::Append(const Release& r, double epsilon, double delta) {
  const nlohmann::json line = {{"release", r.round_kind},        {"sigma", r.sigma},
                               {"guarantee", r.guarantee},       {"classes", r.classes},
                               {"histograms", r.histograms},     {"contributors", r.contributors},
                               {"protocol_round", r.protocol_round}, {"epsilon", epsilon},
                               {"delta", delta}};
  FL_RETURN_IF_ERROR(env_->AppendToFile(path_, line.dump() + "\n"));
  ++releases_;
  return Status::Ok();
}

}  // namespace fl::privacy
