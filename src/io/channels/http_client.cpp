#include "io/channels/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <mutex>

static_assert(CURL_ERROR_SIZE == 256, "HttpSession::errbuf_ is CURL_ERROR_SIZE bytes");

namespace cuifu {

namespace {

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const auto b = value.find_first_not_of(" \t");
    const auto e = value.find_last_not_of(" \t\r\n");
    (*headers)[name] = b == std::string::npos ? std::string{} : value.substr(b, e - b + 1);
  }
  return size * n;
}

}  // namespace

void curl_global_setup() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

HttpSession::HttpSession() {
  curl_global_setup();
  handle_ = curl_easy_init();
}

HttpSession::~HttpSession() {
  if (handle_) curl_easy_cleanup(static_cast<CURL*>(handle_));
}

HttpResponse http_request(const HttpRequest& request) {
  return HttpSession().perform(request);
}

HttpResponse HttpSession::perform(const HttpRequest& request) {
  HttpResponse out;
  if (!handle_) {
    out.error = "curl_easy_init failed";
    return out;
  }
  CURL* const h = static_cast<CURL*>(handle_);
  Slist headers;
  for (const auto& line : request.headers) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) {
      out.error = "out of memory building headers";
      return out;
    }
    (void)headers.release();
    headers.reset(next);
  }
  if (!configured_ || request.url != url_ || request.method != method_ || request.timeout != timeout_) {
    // Options from the previous request go; the connection (and its cache) stays.
    curl_easy_reset(h);
    url_ = request.url;
    method_ = request.method;
    timeout_ = request.timeout;
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf_);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(timeout_.count(), 5000)));
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cuifu/0.1");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    if (method_ == "POST") curl_easy_setopt(h, CURLOPT_POST, 1L);
    configured_ = true;
  }
  errbuf_[0] = '\0';
  // Per request: what points into it (its headers, body and answer).
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, request.keep_headers ? on_header : nullptr);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, request.keep_headers ? &out.headers : nullptr);
  if (method_ == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  const CURLcode rc = curl_easy_perform(h);
  // The header list goes with this request: the handle must not keep pointing at it.
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &out.seconds);
  long request_size = 0;
  curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &request_size);
  out.request_sent = request_size > 0;
  if (rc != CURLE_OK) {
    out.status = 0;
    out.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    out.error = fmt::format("{}{}{}", curl_easy_strerror(rc), errbuf_[0] ? ": " : "", errbuf_);
    return out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

std::string url_encode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace cuifu
