// The end of training: FINISH with the final model to every connected worker, then their
// final reports (test metrics of the final model), collected until all have answered or
// the final-report timeout passes.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "event_loop.h"
#include "options.h"
#include "worker_registry.h"

namespace fl::coordinator {

class FinalReports {
 public:
  FinalReports(EventLoop& loop, WorkerRegistry& registry, const CoordinatorOptions& options, const std::string& session)
      : loop_(loop), registry_(registry), options_(options), session_(session) {}

  // Sends FINISH (with `model`, version `version`) to every connected worker and returns
  // the reports by hospital name.
  nlohmann::json Collect(const std::vector<float>& model, uint64_t version);
  // The same for the workers `recipients` only (a merge window's contributors).
  nlohmann::json Collect(const std::vector<float>& model, uint64_t version, const std::vector<uint32_t>& recipients);

  // Event-loop handler for FINAL_REPORT.
  void OnReport(WorkerRecord& w, const Message& m);

 private:
  EventLoop& loop_;
  WorkerRegistry& registry_;
  const CoordinatorOptions& options_;
  const std::string& session_;
  bool collecting_ = false;
  std::map<uint32_t, nlohmann::json> reports_;
};

}  // namespace fl::coordinator
