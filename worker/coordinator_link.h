// How the parts of a worker send to the coordinator: WorkerClient implements it over its
// Transport, stamping the session and the worker id.
#pragma once

#include <cstdint>
#include <vector>

#include "fl/frame.h"
#include "fl/status.h"
#include "fl/wire.h"

namespace fl::worker {

class CoordinatorLink {
 public:
  virtual ~CoordinatorLink() = default;
  virtual Status Send(wire::MessageType type, uint32_t round, const google::protobuf::MessageLite* body,
                      std::vector<Frame> payload = {}) = 0;
};

}  // namespace fl::worker
