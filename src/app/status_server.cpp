#include "app/status_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "io/quiet_thread.h"

namespace cuifu {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One connection: read one request, answer it (now, or when the daemon's loop responds), close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const StatusServer::Handler& handler)
      : stream_(std::move(socket)), waiting_(stream_.get_executor()), handler_(handler) {}

  void start() {
    parser_.body_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(10));
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) return;
    const auto& req = parser_.get();
    version_ = req.version();
    StatusRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.authorization = std::string(req[http::field::authorization]);
    r.body = req.body();
    // Kept alive by this wait until the answer comes (from this thread or another) or the wait
    // ends; nothing holds the session once the server's io_context is gone.
    stream_.expires_never();
    waiting_.expires_after(std::chrono::seconds(30));
    waiting_.async_wait([self = shared_from_this()](beast::error_code e) {
      if (!e) self->write({503, "text/plain; charset=utf-8", "no answer in time\n"});
    });
    StatusServer::Respond respond = [weak = weak_from_this(), ex = stream_.get_executor()](StatusReply reply) {
      asio::post(ex, [weak, reply = std::move(reply)]() mutable {
        if (const auto self = weak.lock()) self->write(std::move(reply));
      });
    };
    try {
      handler_(r, std::move(respond));
    } catch (const std::exception& e) {
      spdlog::error("status: {} {}: {}", r.method, r.target, e.what());
      write({500, "text/plain; charset=utf-8", "internal error\n"});
    }
  }

  void write(StatusReply reply) {
    if (answered_) return;
    answered_ = true;
    waiting_.cancel();
    response_.version(version_);
    response_.result(static_cast<http::status>(reply.status));
    response_.set(http::field::server, "cuifu");
    response_.set(http::field::content_type, reply.content_type);
    response_.keep_alive(false);
    response_.body() = std::move(reply.body);
    response_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    http::async_write(stream_, response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  asio::steady_timer waiting_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  unsigned version_ = 11;
  bool answered_ = false;
  const StatusServer::Handler& handler_;  // the server's, which outlives its io_context's handlers
};

}  // namespace

struct StatusServer::Impl {
  explicit Impl(Handler h) : handler(std::move(h)), acceptor(io) {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) std::make_shared<Session>(std::move(socket), handler)->start();
      accept();
    });
  }

  // Declared first: destroyed last (the sessions it still holds refer to `handler`).
  Handler handler;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::thread thread;
};

StatusServer::StatusServer(const std::string& listen, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(handler))) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error(fmt::format("status listen '{}' is not HOST:PORT", listen));
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error(fmt::format("status listen '{}': '{}' is not an IP address", listen, host));
  const tcp::endpoint ep(address, static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("status listen {}: {}", listen, ec.message()));
  impl_->accept();
  impl_->thread = thread_without_signals([io = &impl_->io] {
    const auto guard = asio::make_work_guard(*io);  // runs until stopped, even with nothing pending
    io->run();
  });
}

StatusServer::~StatusServer() {
  stop();
  impl_->io.stop();
  join_holding_signals(impl_->thread);
}

void StatusServer::stop() {
  // On the server's thread: the acceptor is used there only.
  asio::post(impl_->io, [impl = impl_.get()] {
    beast::error_code ignored;
    if (impl->acceptor.is_open()) impl->acceptor.close(ignored);
  });
}

}  // namespace cuifu
