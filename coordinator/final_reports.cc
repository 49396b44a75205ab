#include "final_reports.h"

#include "fl/log.h"
#include "fl/metrics_wire.h"

namespace fl::coordinator {

nlohmann::json FinalReports::Collect(const std::vector<float>& model, uint64_t version) {
  std::vector<uint32_t> everyone;
  for (WorkerRecord* w : registry_.Alive()) everyone.push_back(w->id);
  FL_LOG(kInfo) << "training finished at model version " << version << "; collecting final reports";
  return Collect(model, version, everyone);
}

nlohmann::json FinalReports::Collect(const std::vector<float>& model, uint64_t version,
                                     const std::vector<uint32_t>& recipients) {
  collecting_ = true;
  reports_.clear();
  wire::RoundStart fin;
  fin.set_dimension(model.size());
  fin.set_model_version(version);
  std::vector<uint32_t> expected;
  for (uint32_t id : recipients) {
    WorkerRecord* w = registry_.Find(id);
    if (!w || !w->alive) continue;
    Message m = MakeMessage(wire::FINISH, session_, 0, 0, &fin);
    if (!model.empty()) m.payload.push_back(FloatFrame(model.data(), model.size()));
    registry_.Send(*w, std::move(m));
    expected.push_back(w->id);
  }
  loop_.RunFor(
      [&] {
        for (uint32_t id : expected) {
          const WorkerRecord* w = registry_.Find(id);
          if (w && w->alive && !reports_.count(id)) return false;
        }
        return true;
      },
      options_.final_report_timeout_s);
  nlohmann::json hospitals = nlohmann::json::object();
  for (const auto& [id, metrics] : reports_) hospitals[registry_.NameOf(id)] = metrics;
  collecting_ = false;
  return hospitals;
}

void FinalReports::OnReport(WorkerRecord& w, const Message& m) {
  wire::Metrics metrics;
  if (!collecting_ || !UnpackBody(m, &metrics).ok()) {
    return registry_.Drop(w, "unexpected or malformed FINAL_REPORT", true);
  }
  StatusOr<nlohmann::json> j = MetricsToJson(metrics);
  if (!j.ok()) return registry_.Drop(w, j.status().message(), true);
  reports_[w.id] = std::move(j).value();
  registry_.Retire(w);  // its part is over: disconnecting now is not a dropout
}

}  // namespace fl::coordinator
