// cuifu_sink: a fast recording HTTP sink for the send benchmark (tools/bench --sends) and the
// send-path integration test. Python's http.server answers ~1,000 requests/s; this one answers
// tens of thousands on one thread (Boost.Beast, keep-alive, 127.0.0.1 only).
//
// Every POST is answered 200 {"ok":true} and recorded as one line "<unix time, s.µs> <key> <n>"
// (n: how many times that X-Idempotency-Key has arrived, 1 for the first). The log is written
// when the sink stops (SIGTERM/SIGINT) or on GET /_flush, so recording costs no I/O per request.
// GET /_health answers 200. The port is written to --port-file once listening.
//
// With --kill-every N --kill-pid-file F, every N-th POST makes the sink SIGKILL the process whose
// pid F holds, before answering: the daemon dies with that request just received and unanswered,
// the moment a wrongly ordered claim or outcome would show in its outbox (the send-path test).
//
// usage: cuifu_sink --log FILE --port-file FILE [--kill-every N --kill-pid-file F]
#include <utility>

#include <signal.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct Record {
  double at = 0;
  std::string key;
  int copy = 1;
};

struct Recorder {
  std::vector<Record> records;
  std::size_t kill_every = 0;  // 0: never
  std::string kill_pid_file;
  std::unordered_map<std::string, int> seen;
  std::string path;
  void add(std::string key) {
    const double at = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const int copy = ++seen[key];
    records.push_back({at, std::move(key), copy});
    if (kill_every > 0 && records.size() % kill_every == 0) {
      long pid = 0;
      std::ifstream(kill_pid_file) >> pid;
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  void flush() const {
    std::ofstream out(path, std::ios::trunc);
    for (const auto& r : records) {
      char t[32];
      std::snprintf(t, sizeof t, "%.6f", r.at);
      out << t << ' ' << (r.key.empty() ? "-" : r.key) << ' ' << r.copy << '\n';
    }
  }
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, Recorder& rec) : stream_(std::move(s)), rec_(rec) {}
  void start() { read(); }

 private:
  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->answer();
    });
  }
  void answer() {
    res_ = {};
    res_.version(req_.version());
    res_.keep_alive(req_.keep_alive());
    res_.set(http::field::content_type, "application/json");
    res_.result(http::status::ok);
    if (req_.method() == http::verb::post) {
      rec_.add(std::string(req_["X-Idempotency-Key"]));
      res_.body() = "{\"ok\":true}";
    } else if (req_.target() == "/_flush") {
      rec_.flush();
      res_.body() = std::to_string(rec_.records.size()) + "\n";
    } else if (req_.target() != "/_health") {
      res_.result(http::status::not_found);
    }
    res_.prepare_payload();
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec && self->res_.keep_alive()) self->read();
    });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  Recorder& rec_;
};

void accept(tcp::acceptor& a, Recorder& rec) {
  a.async_accept([&a, &rec](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s), rec)->start();
    }
    accept(a, rec);
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string port_file;
  Recorder rec;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--log") {
      rec.path = argv[i + 1];
    } else if (a == "--port-file") {
      port_file = argv[i + 1];
    } else if (a == "--kill-every") {
      rec.kill_every = std::stoul(argv[i + 1]);
    } else if (a == "--kill-pid-file") {
      rec.kill_pid_file = argv[i + 1];
    } else {
      std::cerr << "usage: cuifu_sink --log FILE --port-file FILE [--kill-every N --kill-pid-file F]\n";
      return 2;
    }
  }
  if (rec.path.empty() || port_file.empty()) {
    std::cerr << "usage: cuifu_sink --log FILE --port-file FILE [--kill-every N --kill-pid-file F]\n";
    return 2;
  }
  rec.records.reserve(1 << 20);
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.listen(asio::socket_base::max_listen_connections);
  {
    std::ofstream(port_file + ".tmp") << acceptor.local_endpoint().port();
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  accept(acceptor, rec);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](beast::error_code, int) { io.stop(); });
  io.run();
  rec.flush();
  return 0;
}
