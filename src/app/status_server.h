// The status endpoint: a tiny HTTP/1.1 server on Boost.Beast (GET /healthz, GET /metrics,
// POST /optout), run on the daemon's io_context. Requests are answered by a handler the
// daemon supplies, so the server knows nothing of reminders. Loopback by default.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace cuifu {

struct StatusRequest {
  std::string method;  // "GET", "POST"
  std::string target;  // "/metrics"
  std::string authorization;
  std::string body;
};

struct StatusReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class StatusServer {
 public:
  using Handler = std::function<StatusReply(const StatusRequest&)>;
  // Binds `listen` ("127.0.0.1:9464") at once; throws std::runtime_error when it cannot.
  StatusServer(boost::asio::io_context& io, const std::string& listen, Handler handler);
  ~StatusServer();
  // Stops accepting; open connections finish their one request.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cuifu
