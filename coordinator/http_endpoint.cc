#include "http_endpoint.h"

#include <httplib.h>

namespace fl::coordinator {

HttpEndpoint::HttpEndpoint(const CoordinatorMetrics& metrics) : metrics_(metrics) {}

HttpEndpoint::~HttpEndpoint() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

Status HttpEndpoint::Start(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("http listen address \"" + listen + "\": expected HOST:PORT");
  const std::string host = listen.substr(0, colon);
  const std::string digits = listen.substr(colon + 1);
  int port = digits.empty() || digits.size() > 5 ? -1 : 0;
  for (char c : digits) port = (c >= '0' && c <= '9' && port >= 0) ? port * 10 + (c - '0') : -1;
  if (host.empty() || port < 0 || port > 65535) return InvalidArgument("http listen address \"" + listen + "\": bad port");
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const bool live = metrics_.live();
    res.status = live ? 200 : 503;
    res.set_content(live ? "ok\n" : "the event loop is stuck\n", "text/plain");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ready = metrics_.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ < 0) return Unavailable("cannot listen for HTTP on " + listen);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return Status::Ok();
}

}  // namespace fl::coordinator
