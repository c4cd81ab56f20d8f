// A blocking HTTP(S) client on libcurl, for worker threads (never the event loop).
//
// Each call uses its own easy handle, owned by an RAII object, so calls on different
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

HttpResponse http_request(const HttpRequest& request);

// Percent-encoding per RFC 3986 (unreserved characters kept; space is %20).
std::string url_encode(std::string_view s);

// Initialises libcurl once per process; call before starting threads that use curl.
void curl_global_setup();

}  // namespace cuifu
