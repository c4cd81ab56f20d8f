// The status endpoint: a tiny HTTP/1.1 server on Boost.Beast (GET /healthz, GET /metrics,
// POST /optout) on a thread of its own, so that it answers while the daemon's loop is busy (a
// reconcile writing, a burst of sends). Requests are answered by a handler the daemon supplies,
// so the server knows nothing of reminders. Loopback by default.
#pragma once

#include <functional>
#include <memory>
#include <string>

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
  // Answers the request it was given; callable once, from any thread (a request the daemon's
  // loop must answer is passed on to it). A request not answered within 30 s gets a 503.
  using Respond = std::function<void(StatusReply)>;
  // Called on the server's thread.
  using Handler = std::function<void(const StatusRequest&, Respond)>;
  // Binds `listen` ("127.0.0.1:9464") at once, then serves on its own thread; throws
  // std::runtime_error when it cannot bind.
  StatusServer(const std::string& listen, Handler handler);
  // Stops and joins the thread.
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;
  // Stops accepting; open connections finish their one request.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuifu
