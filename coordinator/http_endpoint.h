// The coordinator's HTTP port for operators: GET /healthz (200 while the event loop turns),
// /readyz (200 once its state is loaded and it admits workers) and /metrics (Prometheus
// text). Served on its own thread from CoordinatorMetrics; nothing else is exposed.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "fl/status.h"
#include "metrics.h"

namespace httplib {
class Server;
}

namespace fl::coordinator {

class HttpEndpoint {
 public:
  explicit HttpEndpoint(const CoordinatorMetrics& metrics);
  ~HttpEndpoint();
  // Binds "HOST:PORT" (port 0: any free port) and serves until destroyed.
  Status Start(const std::string& listen);
  int port() const { return port_; }

 private:
  const CoordinatorMetrics& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fl::coordinator
