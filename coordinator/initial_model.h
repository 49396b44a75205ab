// Where the first global model comes from when neither init_checkpoint nor an earlier run
// provides one: one connected worker is asked for a freshly initialised, untrained model
// (weights from the plan's init_seed; docs/adr/0001-initial-model.md).
#pragma once

#include <optional>
#include <string>

#include "event_loop.h"
#include "fl/safetensors.h"
#include "options.h"
#include "worker_registry.h"

namespace fl::coordinator {

class InitialModelRequest {
 public:
  InitialModelRequest(EventLoop& loop, WorkerRegistry& registry, const CoordinatorOptions& options,
                      const std::string& session)
      : loop_(loop), registry_(registry), options_(options), session_(session) {}

  // Asks the first connected worker and waits up to the phase timeout; a worker that does
  // not deliver is dropped.
  StatusOr<Checkpoint> Obtain();

  // Event-loop handler for INIT_MODEL.
  void OnModel(WorkerRecord& w, const Message& m);
  // Registry listener.
  void OnDrop(uint32_t id);

 private:
  EventLoop& loop_;
  WorkerRegistry& registry_;
  const CoordinatorOptions& options_;
  const std::string& session_;
  std::optional<uint32_t> asked_;  // the worker asked
  std::optional<Checkpoint> model_;
};

}  // namespace fl::coordinator
