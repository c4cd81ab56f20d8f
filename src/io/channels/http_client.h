// A blocking HTTP(S) client on libcurl, for worker threads (never the event loop).
//
// An HttpSession owns one easy handle (RAII) and keeps its connection alive between
// requests, so a channel worker sending to one gateway pays the TCP (and TLS) set-up once,
// not per reminder. A session is used by one thread at a time; sessions on different
// threads never share curl state. Transport failures (refused, timeout) come back as a
// response with status 0 and `error` set; nothing throws.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace cuifu {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::chrono::milliseconds timeout{10000};
  // False: the response's headers are not kept (HttpResponse::headers stays empty), which spares
  // parsing them on a path that never reads them (a reminder's post).
  bool keep_headers = true;
};

struct HttpResponse {
  long status = 0;  // 0: no HTTP response (see error)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased; the last value wins
  std::string error;                           // transport error, empty when a response arrived
  bool timed_out = false;
  bool request_sent = false;  // the request left (a failure after it may not mean it was not received)
  double seconds = 0;         // total time taken
};

// One connection (re)used for the requests made through it, one after the other. The options
// that stay the same from one request to the next (URL, method, timeout) are set again only when
// they change: a channel worker posts every reminder to the same URL.
// Not thread-safe: one thread at a time.
class HttpSession {
 public:
  HttpSession();
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;
  HttpResponse perform(const HttpRequest& request);

 private:
  void* handle_ = nullptr;  // CURL*, owned
  // What the handle is set up for (valid when configured_): the options of the last request
  // that are kept between requests.
  bool configured_ = false;
  std::string url_, method_;
  std::chrono::milliseconds timeout_{0};
  char errbuf_[256] = {};  // CURL_ERROR_SIZE; handed to curl once per set-up
};

// A one-off request on a fresh connection.
HttpResponse http_request(const HttpRequest& request);

// Percent-encoding per RFC 3986 (unreserved characters kept; space is %20).
std::string url_encode(std::string_view s);

// Initialises libcurl once per process; call before starting threads that use curl.
void curl_global_setup();

}  // namespace cuifu
